/* Demo analytics script (R-CONS-4): runs only after consent for "analytics", and then sets a cookie. */
document.cookie = "demo_analytics=1; Path=/; Max-Age=3600; SameSite=Lax";
window.kluisDemo = Object.assign(window.kluisDemo || {}, { analytics: true });
