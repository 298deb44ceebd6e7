// Marks the page as scripted before GOV.UK Frontend's styles apply (no inline script: the CSP forbids it).
document.body.className += ' js-enabled' + ('noModule' in HTMLScriptElement.prototype ? ' govuk-frontend-supported' : '');
