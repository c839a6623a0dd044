import type { Reporter, TestModule } from 'vitest/node';

/**
 * Names every skipped test at the end of a run, with its suite (whose name carries the reason, e.g.
 * "(skipped: SERVICEBUS_CONNECTION not set)"): the default reporter only counts them.
 */
export default class SkippedReporter implements Reporter {
  onTestRunEnd(testModules: ReadonlyArray<TestModule>): void {
    const skipped = testModules.flatMap((module) =>
      [...module.children.allTests()]
        // At the end of a run a test that never ran (a skipped suite's) is still "pending".
        .filter((test) => test.result().state === 'skipped' || test.result().state === 'pending')
        .map((test) => `  ↓ ${module.moduleId.split('/tests/')[1] ?? module.moduleId} > ${test.fullName}`),
    );
    if (skipped.length === 0) return;
    console.log(`\nSkipped (${skipped.length}):\n${skipped.join('\n')}\n`);
  }
}
