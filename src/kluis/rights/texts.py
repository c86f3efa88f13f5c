"""The privacy centre's request pages in Dutch and English."""

from __future__ import annotations

TEXT: dict[str, dict[str, str]] = {
    "nl": {
        "form_title": "Een verzoek over uw gegevens", "form_intro": "Kies wat u wilt vragen en vul het e-mailadres "
        "in dat u bij benVitaal gebruikt. We sturen een code om te bevestigen dat het adres van u is.",
        "type": "Wat wilt u?", "scope": "Bij bezwaar: waartegen?", "email": "Uw e-mailadres",
        "send": "Verzoek versturen", "form_error": "Controleer uw invoer: het e-mailadres of de keuze klopt niet.",
        "form_expired": "Dit formulier is verlopen. Open de pagina opnieuw en probeer het nog eens.",
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
        "kept_title": "Wat we (nog) bewaren, en waarom", "kept_ground": "Grond", "kept_until": "Bewaard tot",
        "kept_complaint": "Bent u het hier niet mee eens? U heeft het recht een klacht in te dienen bij de "
        "Autoriteit Persoonsgegevens.",
        "not_found_title": "Niet gevonden", "not_found": "Deze link is niet (meer) geldig. Gebruik de link uit uw "
        "e-mail, of mail dpo@benvitaal.nl.", "privacy": "Privacyverklaring",
        "type_sub_processors": "De lijst van subverwerkers van een dienst",
        "service": "Bij de lijst van subverwerkers: van welke dienst?", "service_all": "Alle diensten",
        "sub_processors_title": "De lijst van subverwerkers is onderweg",
        "sub_processors_sent": "We sturen de lijst van subverwerkers naar het e-mailadres dat u opgaf. U hoeft "
        "niets te bevestigen: de lijst gaat alleen naar dat adres.",
        "type_access": "Inzage in mijn gegevens", "type_portability": "Mijn gegevens meenemen (overdraagbaarheid)",
        "type_rectification": "Mijn gegevens laten corrigeren", "type_erasure": "Mijn gegevens laten verwijderen",
        "type_restriction": "De verwerking laten beperken", "type_objection": "Bezwaar maken",
        "scope_none": "(geen bezwaar)", "scope_marketing": "Direct marketing", "scope_profiling": "Profilering",
        "scope_legitimate_interest": "Verwerking op grond van gerechtvaardigd belang",
        "state_received": "Wacht op bevestiging", "state_verified": "Bevestigd", "state_in_progress": "In behandeling",
        "state_waiting_on_person": "Wacht op informatie van u", "state_done": "Afgehandeld",
        "state_refused": "Niet uitgevoerd", "state_expired": "Vervallen: niet op tijd bevestigd",
        "too_many": "Te veel verzoeken. Probeer het later opnieuw.",
        "request_expired": "Dit verzoek is vervallen: het is niet op tijd bevestigd. "
        "Dien zo nodig een nieuw verzoek in.",
        "package_title": "Uw gegevens downloaden", "package_intro": "Om te bevestigen dat u het bent, sturen we een "
        "code van 6 cijfers naar het e-mailadres dat we van u hebben. Vul die hieronder in; daarna kunt u het bestand "
        "een kwartier lang downloaden.", "package_send_code": "Stuur mij een code",
        "package_code_sent": "We hebben een code gestuurd naar het e-mailadres dat we van u hebben. De code is 30 "
        "minuten geldig.", "package_sign_in": "Bevestigen",
        "package_ready_until": "Deze link werkt tot", "package_download": "Download uw gegevens (ZIP)",
        "package_signed_in": "U bent bevestigd. Het bestand is versleuteld bewaard en wordt voor u ontsleuteld.",
        "package_kind_access": "Inzage: al uw gegevens, met een leesbaar overzicht (HTML en PDF)",
        "package_kind_portability": "Overdraagbaarheid: de gegevens die u ons gaf, in JSON en CSV",
        "package_expired_title": "Deze link is verlopen", "package_expired": "De downloadlink is verlopen en het "
        "bestand is verwijderd. Wilt u uw gegevens opnieuw ontvangen? Doe dan een nieuw verzoek.",
        "package_status": "Uw bestand", "package_state_queued": "Wordt gemaakt",
        "package_state_building": "Wordt gemaakt", "package_state_ready": "Klaar: gebruik de link in uw e-mail",
        "package_state_expired": "Verlopen en verwijderd", "package_state_failed": "Vertraagd: we nemen contact op",
        "new_request": "Een nieuw verzoek doen",
        "mijn_privacy": "Liever zelf uw gegevens en voorkeuren inzien en wijzigen? Log in op Mijn privacy.",
    },
    "en": {
        "form_title": "A request about your data", "form_intro": "Choose what you want to ask and enter the e-mail "
        "address you use with benVitaal. We send a code to confirm the address is yours.",
        "type": "What would you like?", "scope": "For an objection: against what?", "email": "Your e-mail address",
        "send": "Send request", "form_error": "Please check what you entered: the address or the choice is not right.",
        "form_expired": "This form has expired. Open the page again and retry.",
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
        "kept_title": "What we keep (for now), and why", "kept_ground": "Ground", "kept_until": "Kept until",
        "kept_complaint": "Do you disagree? You have the right to lodge a complaint with the Autoriteit "
        "Persoonsgegevens (the Dutch Data Protection Authority).",
        "not_found_title": "Not found", "not_found": "This link is not (or no longer) valid. Use the link in your "
        "e-mail, or write to dpo@benvitaal.nl.", "privacy": "Privacy statement",
        "type_sub_processors": "The list of sub-processors of a service",
        "service": "For the list of sub-processors: of which service?", "service_all": "Every service",
        "sub_processors_title": "The list of sub-processors is on its way",
        "sub_processors_sent": "We are sending the list of sub-processors to the e-mail address you gave. You do "
        "not need to confirm anything: the list goes to that address only.",
        "type_access": "Access to my data", "type_portability": "Take my data with me (portability)",
        "type_rectification": "Have my data corrected", "type_erasure": "Have my data erased",
        "type_restriction": "Have the processing restricted", "type_objection": "Object",
        "scope_none": "(no objection)", "scope_marketing": "Direct marketing", "scope_profiling": "Profiling",
        "scope_legitimate_interest": "Processing based on legitimate interest",
        "state_received": "Waiting for confirmation", "state_verified": "Confirmed", "state_in_progress": "In progress",
        "state_waiting_on_person": "Waiting for information from you", "state_done": "Handled",
        "state_refused": "Not carried out", "state_expired": "Lapsed: not confirmed in time",
        "too_many": "Too many requests. Please try again later.",
        "request_expired": "This request has lapsed: it was not confirmed in time. "
        "Please make a new request if needed.",
        "package_title": "Download your data", "package_intro": "To confirm it is you, we send a 6-digit code to "
        "the e-mail address we have for you. Enter it below; you can then download the file for fifteen minutes.",
        "package_send_code": "Send me a code",
        "package_code_sent": "We have sent a code to the e-mail address we have for you. The code is valid for 30 "
        "minutes.", "package_sign_in": "Confirm",
        "package_ready_until": "This link works until", "package_download": "Download your data (ZIP)",
        "package_signed_in": "You are confirmed. The file is stored encrypted and is decrypted for you.",
        "package_kind_access": "Access: all your data, with a readable report (HTML and PDF)",
        "package_kind_portability": "Portability: the data you gave us, as JSON and CSV",
        "package_expired_title": "This link has expired", "package_expired": "The download link has expired and the "
        "file has been deleted. If you want your data again, please make a new request.",
        "package_status": "Your file", "package_state_queued": "Being made",
        "package_state_building": "Being made", "package_state_ready": "Ready: use the link in your e-mail",
        "package_state_expired": "Expired and deleted", "package_state_failed": "Delayed: we will contact you",
        "new_request": "Make a new request",
        "mijn_privacy": "Rather see and change your data and preferences yourself? Sign in to My privacy.",
    },
}
