/**
 * A mocha root hook plugin for `npm run mutate` only (stryker.config.mjs requires it).
 *
 * With perTest coverage, StrykerJS's mocha runner names the current test in a root
 * `beforeEach` and never clears it, so what a suite's `before` hook runs (rendering an nginx
 * config, starting nginx with it) is counted as covered by the test that ran last, often in
 * another file. A mutant there then runs only that test, which cannot see it, and "survives":
 * `return 403;` emptied in the authorization rules did. Here every suite's `before` hooks
 * record their coverage under the suite, and it is added to each test the suite holds, so
 * such a mutant runs the tests whose nginx it changes.
 */
import type { Context, Suite } from "mocha";

type Coverage = Record<string, number>;

interface InstrumenterContext {
    currentTestId?: string;
    mutantCoverage?: { perTest: Record<string, Coverage> };
}

function instrumenter(): InstrumenterContext | undefined {
    return (globalThis as { __stryker__?: InstrumenterContext }).__stryker__;
}

function testsIn(suite: Suite): string[] {
    return [...suite.tests.map((test) => test.fullTitle()), ...suite.suites.flatMap(testsIn)];
}

/** Puts a hook first among the suite's `before` hooks (mocha appends; its list is internal). */
function prependBeforeAll(suite: Suite, fn: () => void): void {
    suite.beforeAll(fn);
    const hooks = (suite as unknown as { _beforeAll: unknown[] })._beforeAll;
    hooks.unshift(hooks.pop());
}

function attributeBeforeHooks(suite: Suite): void {
    const hooks = (suite as unknown as { _beforeAll: unknown[] })._beforeAll;
    if (hooks.length > 0) {
        const hookId = `before hooks of: ${suite.fullTitle()}`;
        prependBeforeAll(suite, () => {
            const context = instrumenter();
            if (context) context.currentTestId = hookId;
        });
        suite.beforeAll(() => {
            const context = instrumenter();
            const perTest = context?.mutantCoverage?.perTest;
            if (!context || !perTest) return;
            const covered = perTest[hookId] ?? {};
            delete perTest[hookId];
            for (const test of testsIn(suite)) {
                const coverage = (perTest[test] ??= {});
                for (const [mutant, hits] of Object.entries(covered)) coverage[mutant] = (coverage[mutant] ?? 0) + hits;
            }
            context.currentTestId = undefined;
        });
    }
    suite.suites.forEach(attributeBeforeHooks);
}

export const mochaHooks = {
    beforeAll(this: Context) {
        // The root's own hooks are running now (this is one): only the files' suites are changed.
        const root = this.test?.parent;
        if (root && instrumenter()) root.suites.forEach(attributeBeforeHooks);
    },
};
