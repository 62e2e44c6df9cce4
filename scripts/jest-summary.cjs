// A jest reporter that appends each package's counts to the file named by RAFTKV_TEST_SUMMARY, so
// that `npm test` can close with one line for the whole monorepo: "N passed, N failed, N skipped".
const { appendFileSync } = require('node:fs');

class SummaryReporter {
  onRunComplete(_contexts, results) {
    const file = process.env.RAFTKV_TEST_SUMMARY;
    if (!file) return;
    const line = {
      passed: results.numPassedTests,
      failed: results.numFailedTests + results.numRuntimeErrorTestSuites,
      skipped: results.numPendingTests + results.numTodoTests,
    };
    appendFileSync(file, JSON.stringify(line) + '\n');
  }
}

module.exports = SummaryReporter;
