// Package browser holds the hosted pages' end-to-end tests: a real headless
// Chromium, driven through the DevTools protocol by chromedp, goes through
// the pages of a whole stack served on a loopback port, as a person would.
// Its tests need /usr/bin/chromium (apt-get install -y chromium), or the
// browser named by GUICHET_CHROMIUM; without it they fail, never skip.
package browser
