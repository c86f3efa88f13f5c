/* Demo marketing script (R-CONS-4): runs only after consent for "marketing", and then sets a cookie. */
document.cookie = "demo_marketing=1; Path=/; Max-Age=3600; SameSite=Lax";
window.kluisDemo = Object.assign(window.kluisDemo || {}, { marketing: true });
