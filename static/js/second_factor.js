// The second-factor pages: once django-otp-webauthn's script has registered a security key,
// go on to the page the button names (data-next), which shows the key.
document.addEventListener("otp_webauthn.register_complete", (event) => {
  const next = event.target.dataset && event.target.dataset.next;
  if (next) {
    window.location.assign(next);
  }
});
