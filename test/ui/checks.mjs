// The small pass/fail runner the UI check scripts share: each check runs, failures are printed
// and counted, and `finish` prints the closing line ("<name>: N passed, N failed") and exits.
export function checker() {
  let passed = 0;
  let failed = 0;
  async function check(name, fn) {
    try {
      await fn();
      passed++;
      console.log(`ok   ${name}`);
    } catch (e) {
      failed++;
      console.log(`FAIL ${name}: ${e instanceof Error ? e.message : e}`);
    }
  }
  function finish(label) {
    console.log(`${label}: ${passed} passed, ${failed} failed`);
    process.exit(failed ? 1 : 0);
  }
  return { check, finish, failures: () => failed };
}

/**
 * Records, in every frame (the webview's included), each CSP violation in `window.__asViolations`
 * and, with `alerts`, each alert() call in `window.__asAlerts` (instead of showing it).
 */
export async function trackViolations(context, { alerts = false } = {}) {
  await context.addInitScript((countAlerts) => {
    window.__asViolations = [];
    if (countAlerts) {
      window.__asAlerts = 0;
      window.alert = () => { window.__asAlerts++; };
    }
    document.addEventListener('securitypolicyviolation', (e) => window.__asViolations.push(`${e.violatedDirective} ${e.blockedURI}`));
  }, alerts);
}
