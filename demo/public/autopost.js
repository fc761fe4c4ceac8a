// The fake IdP's HTTP-POST binding: the browser carries the signed assertion to the app's ACS.
/* global document */
document.querySelector('form[data-autopost]')?.submit();
