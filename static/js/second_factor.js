// The second-factor pages: once django-otp-webauthn's script has registered a security key,
// go on to the page the button names (data-next), which shows the key.
document.addEventListener("otp_webauthn.register_complete", (event) => {
  const next = event.target.dataset && event.target.dataset.next;
  if (next) {
    window.location.assign(next);
  }
});

// django-otp-webauthn's script writes these status lines through the global gettext(); the
// package itself translates them into German, Spanish, Italian and Dutch only. Listed here
// (never called) so that the portal's own catalogue (locale/*/djangojs.po, served with the
// package's at its jsi18n URL) carries them in every language the portal speaks.
// eslint-disable-next-line no-unused-vars
function packageStatusLines() {
  return [
    gettext_noop("Register a Passkey"),
    gettext_noop("Registering..."),
    gettext_noop("Registration failed. Unable to fetch registration options from server."),
    gettext_noop("Registration aborted."),
    gettext_noop("Registration failed. You most likely already have a Passkey registered for this site."),
    gettext_noop("Registration aborted or not allowed."),
    gettext_noop("Registration failed. A technical problem occurred that prevents you from registering a Passkey for this site."),
    gettext_noop("Registration failed. An unknown error occurred."),
    gettext_noop("Finishing registration..."),
    gettext_noop("Registration failed. The server was unable to verify this passkey."),
    gettext_noop("Registration failed. A server error occurred."),
    gettext_noop("Registration successful!"),
    gettext_noop("An error occurred during registration."),
    gettext_noop("Verification failed. A server error occurred."),
    gettext_noop("An error occurred during verification."),
    gettext_noop("Verify with Passkey"),
    gettext_noop("Verifying..."),
    gettext_noop("Verification failed. Could not retrieve parameters from the server."),
    gettext_noop("Verification aborted."),
    gettext_noop("Verification canceled or not allowed."),
    gettext_noop("Verification failed. An unknown error occurred."),
    gettext_noop("Finishing verification..."),
    gettext_noop("Verification failed. An unknown server error occurred."),
    gettext_noop("Verification successful!"),
  ];
}
