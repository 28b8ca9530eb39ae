/**
 * The test swarm's life (testkit/live/swarmNode.ts) on the real engine: a swarm the tests
 * make carries their label, so one an interrupted run left is replaced by the next run's,
 * while a swarm someone else made is used and never left.
 *
 * Run: npx mocha --no-config --require tsx/cjs --extension ts --timeout 300000 test/live/harness/swarmNode.test.ts
 *
 * It needs an engine without a swarm (or with one the tests left), and leaves it without.
 * The swarm it makes as "someone else's" carries FOREIGN_MARKER (not the test label), so
 * that one an interrupted run of this file left is known and left by its next run. Until
 * then it is someone else's to the other files (in the suite, this file runs before any
 * that needs a swarm advertised elsewhere).
 */
import * as assert from "node:assert/strict";
import Docker from "dockerode";
import { requireDocker } from "../../../testkit/live/liveDeployment";
import { TEST_SWARM_LABEL, ensureSwarm, isTestSwarm, leaveSwarmIfInitialized, swarmInfo, swarmLabels } from "../../../testkit/live/swarmNode";

/** The label of the swarm this file makes as someone else's. */
const FOREIGN_MARKER = { "private-registry.test.foreign": "swarmNode.test" };

interface Swarm {
    state: string;
    nodeId?: string;
    address?: string;
}

describe("live harness: the test swarm (labelled when the tests make it; someone else's kept)", function () {
    const engine = new Docker();
    let otherAddress: string;

    const swarm = async (): Promise<Swarm> => {
        const info = await swarmInfo(engine);
        return { state: info.LocalNodeState ?? "inactive", nodeId: info.NodeID || undefined, address: info.NodeAddr || undefined };
    };
    /** What an interrupted run leaves: a swarm this helper made, never left. */
    const interruptedRun = async (advertise?: string) => {
        await ensureSwarm(engine, advertise);
        return swarm();
    };

    /** True for a swarm this file made as someone else's (an interrupted run's). */
    const isForeignMarked = async () => {
        const labels = await swarmLabels(engine);
        return Object.entries(FOREIGN_MARKER).every(([key, value]) => labels[key] === value);
    };

    before(async function () {
        requireDocker(this);
        const found = await swarm();
        const ours = async () => (await isTestSwarm(engine)) || (await isForeignMarked());
        if (found.state !== "inactive" && !(await ours().catch(() => false))) {
            const reason = `the engine is in a swarm not known to be the tests' (${found.state} on ${found.address})`;
            if (process.env.CI) throw new Error(`${reason}: CI needs an engine without one`);
            console.log(`      skipped: ${reason}`);
            this.skip();
        }
        if (found.state !== "inactive") await engine.swarmLeave({ force: true });
        // A second address of this host to advertise: the default bridge's gateway.
        const bridge = (await engine.getNetwork("bridge").inspect()) as { IPAM: { Config: { Gateway?: string }[] } };
        otherAddress = bridge.IPAM.Config.find((c) => c.Gateway)?.Gateway ?? assert.fail("the default bridge has no gateway");
    });
    // Every test starts without a swarm; whatever one a test leaves is its own.
    afterEach(async () => {
        if ((await swarm()).state !== "inactive") await engine.swarmLeave({ force: true });
    });

    it("on an engine without a swarm: initializes one on 127.0.0.1 with the test label, and leaves it", async () => {
        const state = await ensureSwarm(engine);
        assert.equal(state.initialized, true);
        const made = await swarm();
        assert.deepEqual([made.state, made.address], ["active", "127.0.0.1"]);
        assert.deepEqual(await swarmLabels(engine), Object.fromEntries([TEST_SWARM_LABEL.split("=")]));
        await leaveSwarmIfInitialized(engine, state);
        assert.equal((await swarm()).state, "inactive");
    });

    it("a swarm an interrupted run left (with a service still in it) is left and made again: a new node, nothing of the old run's", async () => {
        const left = await interruptedRun();
        await engine.createService({ Name: "swarmnode-leftover", TaskTemplate: { ContainerSpec: { Image: "busybox-absent:never" } }, Mode: { Replicated: { Replicas: 0 } } });
        const state = await ensureSwarm(engine);
        assert.equal(state.initialized, true);
        const made = await swarm();
        assert.deepEqual([made.state, made.address], ["active", "127.0.0.1"]);
        assert.notEqual(made.nodeId, left.nodeId, "a new swarm, not the one left");
        assert.deepEqual(await engine.listServices(), []);
        await leaveSwarmIfInitialized(engine, state);
        assert.equal((await swarm()).state, "inactive");
    });

    it("a swarm an interrupted run left on another address is left, and made again where this run asks", async () => {
        const left = await interruptedRun();
        const state = await ensureSwarm(engine, otherAddress);
        assert.equal(state.initialized, true);
        const made = await swarm();
        assert.deepEqual([made.state, made.address], ["active", otherAddress]);
        assert.notEqual(made.nodeId, left.nodeId, "a new swarm, not the one left");
        assert.equal(await isTestSwarm(engine), true);
    });

    it("someone else's swarm (no test label) is used as it is and never left; asked for on another address, it is an error and stays", async () => {
        await engine.swarmInit({ ListenAddr: "0.0.0.0:2377", AdvertiseAddr: "127.0.0.1", Spec: { Labels: FOREIGN_MARKER } });
        const theirs = await swarm();
        const state = await ensureSwarm(engine);
        assert.equal(state.initialized, false);
        await leaveSwarmIfInitialized(engine, state);
        assert.deepEqual(await swarm(), theirs);
        await assert.rejects(ensureSwarm(engine, otherAddress), /swarm is "active" on 127\.0\.0\.1, where no other node can join/);
        assert.deepEqual(await swarm(), theirs);
    });
});
