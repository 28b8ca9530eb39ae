/**
 * A unit test's fixed local ports (its nginx, its stub registry), moved per test process:
 * `npm run mutate` runs several mocha processes at once, StrykerJS numbering them in
 * STRYKER_MUTATOR_WORKER, and two entrypoints on one port would fail each other's tests
 * (a mutant "killed" by a busy port). One mocha process alone keeps the ports as written.
 */
const PORTS_PER_PROCESS = 1000;
/** Worker numbers grow as Stryker replaces processes; only the live ones must differ. */
const PROCESS_SLOTS = 20;

export function localPorts<T extends Record<string, number>>(ports: T): T {
    const slot = Number(process.env.STRYKER_MUTATOR_WORKER ?? 0) % PROCESS_SLOTS;
    return Object.fromEntries(Object.entries(ports).map(([name, port]) => [name, port + slot * PORTS_PER_PROCESS])) as T;
}
