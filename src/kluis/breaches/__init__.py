"""The breach register (R-GOV-3, GDPR Art. 33/34): incidents, the 72-hour clock, affected people, the risk
decision, the notification to the Autoriteit Persoonsgegevens and to the people concerned."""
