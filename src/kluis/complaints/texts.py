"""The privacy centre's complaint pages in Dutch and English (R-GOV-2)."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "nl": {
        "form_title": "Een klacht over uw privacy", "form_intro": "Beschrijf uw klacht over hoe benVitaal met uw "
        "persoonsgegevens omgaat, en vul het e-mailadres in dat u bij benVitaal gebruikt. We sturen een code om te "
        "bevestigen dat het adres van u is. Uw klacht wordt vertrouwelijk behandeld: alleen onze Functionaris voor "
        "Gegevensbescherming en de behandelaar die hij aanwijst lezen haar.",
        "email": "Uw e-mailadres", "text": "Uw klacht", "send": "Klacht versturen",
        "form_error": "Controleer uw invoer: het e-mailadres of de tekst klopt niet (de tekst mag niet leeg zijn).",
        "form_expired": "Dit formulier is verlopen. Open de pagina opnieuw en probeer het nog eens.",
        "verify_title": "Bevestig uw klacht", "verify_intro": "Als we dit e-mailadres kennen, hebben we er een "
        "code van 6 cijfers naartoe gestuurd. De code is 30 minuten geldig.", "code": "Code",
        "confirm": "Bevestigen", "new_code": "Stuur een nieuwe code",
        "code_refused": "Deze code klopt niet, is verlopen of is te vaak geprobeerd. Vraag zo nodig een nieuwe code.",
        "code_limit": "U heeft het afgelopen uur al drie codes gevraagd. Probeer het later opnieuw.",
        "code_resent": "Als we dit e-mailadres kennen, hebben we een nieuwe code gestuurd.",
        "already_verified": "Deze klacht is al bevestigd.",
        "too_many": "Te veel verzoeken. Probeer het later opnieuw.",
        "status_title": "Stand van uw klacht", "reference": "Kenmerk", "state": "Stand",
        "deadline": "Uiterlijk antwoord op", "state_open": "In behandeling", "state_answered": "Beantwoord",
        "state_lapsed": "Vervallen: niet op tijd bevestigd",
        "authority": "Bent u het niet eens met hoe wij met uw klacht omgaan, dan kunt u altijd een klacht indienen "
        "bij de", "not_found_title": "Niet gevonden",
        "not_found": "Deze link is niet (meer) geldig. Gebruik de link uit uw e-mail, of mail dpo@benvitaal.nl.",
    },
    "en": {
        "form_title": "A complaint about your privacy", "form_intro": "Describe your complaint about how benVitaal "
        "handles your personal data, and enter the e-mail address you use with benVitaal. We send a code to "
        "confirm the address is yours. Your complaint is treated in confidence: only our Data Protection Officer "
        "and the handler they assign read it.",
        "email": "Your e-mail address", "text": "Your complaint", "send": "Send complaint",
        "form_error": "Check what you entered: the e-mail address or the text is not right (the text cannot be "
        "empty).", "form_expired": "This form has expired. Open the page again and retry.",
        "verify_title": "Confirm your complaint", "verify_intro": "If we know this e-mail address, we have sent a "
        "6-digit code to it. The code is valid for 30 minutes.", "code": "Code",
        "confirm": "Confirm", "new_code": "Send a new code",
        "code_refused": "This code is wrong, has expired or was tried too often. Ask for a new code if needed.",
        "code_limit": "You asked for three codes in the last hour. Try again later.",
        "code_resent": "If we know this e-mail address, we have sent a new code.",
        "already_verified": "This complaint is already confirmed.",
        "too_many": "Too many requests. Try again later.",
        "status_title": "Your complaint", "reference": "Reference", "state": "Status",
        "deadline": "We answer by", "state_open": "Being handled", "state_answered": "Answered",
        "state_lapsed": "Lapsed: not confirmed in time",
        "authority": "If you do not agree with how we handle your complaint, you can always lodge a complaint with "
        "the", "not_found_title": "Not found",
        "not_found": "This link is not (or no longer) valid. Use the link in your e-mail, or write to "
        "dpo@benvitaal.nl.",
    },
}
