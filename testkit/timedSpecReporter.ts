/**
 * Mocha's spec reporter, and after each top-level suite (a file's scenarios; a few files
 * have more than one) its wall time, hooks included (a stack's deploy in `before`, its
 * destroy in `after`): what the live suite's budget in CI is spent on, where the spec
 * reporter shows the tests' own times only.
 */
import Mocha from "mocha";

const { EVENT_SUITE_BEGIN, EVENT_SUITE_END } = Mocha.Runner.constants;

class TimedSpecReporter extends Mocha.reporters.Spec {
    constructor(runner: Mocha.Runner, options?: Mocha.MochaOptions) {
        super(runner, options);
        const started = new Map<Mocha.Suite, number>();
        runner.on(EVENT_SUITE_BEGIN, (suite: Mocha.Suite) => started.set(suite, Date.now()));
        runner.on(EVENT_SUITE_END, (suite: Mocha.Suite) => {
            const since = started.get(suite);
            if (!suite.parent?.root || since === undefined) return;
            process.stdout.write(`  [${suite.title}: ${Math.round((Date.now() - since) / 1000)} s, hooks included]\n`);
        });
    }
}

export = TimedSpecReporter;
