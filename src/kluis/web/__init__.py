"""HTTP plumbing shared by every domain's endpoints and pages: dependencies, error rendering, form tokens and
cookies, and the staff console's frame (``console``)."""
