"""The privacy centre's request pages in Dutch and English."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "nl": {
        "form_title": "Een verzoek over uw gegevens", "form_intro": "Kies wat u wilt vragen en vul het e-mailadres "
        "in dat u bij benVitaal gebruikt. We sturen een code om te bevestigen dat het adres van u is.",
        "type": "Wat wilt u?", "scope": "Bij bezwaar: waartegen?", "email": "Uw e-mailadres",
        "send": "Verzoek versturen", "form_error": "Controleer uw invoer: het e-mailadres of de keuze klopt niet.",
        "verify_title": "Bevestig uw verzoek", "verify_intro": "Als we dit e-mailadres kennen, hebben we er een "
        "code van 6 cijfers naartoe gestuurd. De code is 30 minuten geldig.", "code": "Code",
        "confirm": "Bevestigen", "new_code": "Stuur een nieuwe code",
        "code_refused": "Deze code klopt niet, is verlopen of is te vaak geprobeerd. Vraag zo nodig een nieuwe code.",
        "code_limit": "U heeft het afgelopen uur al drie codes gevraagd. Probeer het later opnieuw.",
        "code_resent": "Als we dit e-mailadres kennen, hebben we een nieuwe code gestuurd.",
        "already_verified": "Dit verzoek is al bevestigd.",
        "status_title": "Stand van uw verzoek", "reference": "Kenmerk", "kind": "Soort verzoek",
        "state": "Stand", "received": "Ontvangen op", "deadline": "Uiterlijk antwoord op",
        "extended": "De termijn is verlengd met twee maanden, om deze redenen:",
        "forwarded": "Uw werkgever is voor deze gegevens verantwoordelijk; we hebben uw verzoek doorgestuurd.",
        "not_found_title": "Niet gevonden", "not_found": "Deze link is niet (meer) geldig. Gebruik de link uit uw "
        "e-mail, of mail dpo@benvitaal.nl.", "privacy": "Privacyverklaring",
        "type_access": "Inzage in mijn gegevens", "type_portability": "Mijn gegevens meenemen (overdraagbaarheid)",
        "type_rectification": "Mijn gegevens laten corrigeren", "type_erasure": "Mijn gegevens laten verwijderen",
        "type_restriction": "De verwerking laten beperken", "type_objection": "Bezwaar maken",
        "scope_none": "(geen bezwaar)", "scope_marketing": "Direct marketing", "scope_profiling": "Profilering",
        "scope_legitimate_interest": "Verwerking op grond van gerechtvaardigd belang",
        "state_received": "Wacht op bevestiging", "state_verified": "Bevestigd", "state_in_progress": "In behandeling",
        "state_waiting_on_person": "Wacht op informatie van u", "state_done": "Afgehandeld",
        "state_refused": "Niet uitgevoerd",
    },
    "en": {
        "form_title": "A request about your data", "form_intro": "Choose what you want to ask and enter the e-mail "
        "address you use with benVitaal. We send a code to confirm the address is yours.",
        "type": "What would you like?", "scope": "For an objection: against what?", "email": "Your e-mail address",
        "send": "Send request", "form_error": "Please check what you entered: the address or the choice is not right.",
        "verify_title": "Confirm your request", "verify_intro": "If we know this e-mail address, we have sent a "
        "6-digit code to it. The code is valid for 30 minutes.", "code": "Code", "confirm": "Confirm",
        "new_code": "Send a new code",
        "code_refused": "This code is not right, has expired or was tried too often. Ask for a new code if needed.",
        "code_limit": "You asked for three codes in the last hour already. Please try again later.",
        "code_resent": "If we know this e-mail address, we have sent a new code.",
        "already_verified": "This request is already confirmed.",
        "status_title": "Status of your request", "reference": "Reference", "kind": "Type of request",
        "state": "Status", "received": "Received on", "deadline": "We answer by",
        "extended": "The term was extended by two months, for these reasons:",
        "forwarded": "Your employer is the controller of this data; we have forwarded your request to them.",
        "not_found_title": "Not found", "not_found": "This link is not (or no longer) valid. Use the link in your "
        "e-mail, or write to dpo@benvitaal.nl.", "privacy": "Privacy statement",
        "type_access": "Access to my data", "type_portability": "Take my data with me (portability)",
        "type_rectification": "Have my data corrected", "type_erasure": "Have my data erased",
        "type_restriction": "Have the processing restricted", "type_objection": "Object",
        "scope_none": "(no objection)", "scope_marketing": "Direct marketing", "scope_profiling": "Profiling",
        "scope_legitimate_interest": "Processing based on legitimate interest",
        "state_received": "Waiting for confirmation", "state_verified": "Confirmed", "state_in_progress": "In progress",
        "state_waiting_on_person": "Waiting for information from you", "state_done": "Handled",
        "state_refused": "Not carried out",
    },
}
