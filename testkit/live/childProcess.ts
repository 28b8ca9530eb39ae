/**
 * Ending the daemons the live tests start (a second dockerd, a containerd): a child that
 * a signal ended has no exit code, only a signal code, so "still running" asks both.
 */
import { ChildProcess } from "node:child_process";

export const isRunning = (child: ChildProcess): boolean => child.exitCode === null && child.signalCode === null;

/** SIGTERM, then SIGKILL if it has not exited within `graceMs`; resolves once it has exited. */
export async function terminate(child: ChildProcess, graceMs = 20_000): Promise<void> {
    if (!isRunning(child)) return;
    const exited = new Promise((resolve) => child.once("exit", resolve));
    child.kill("SIGTERM");
    const inTime = await Promise.race([exited.then(() => true), new Promise<boolean>((resolve) => setTimeout(() => resolve(false), graceMs))]);
    if (!inTime) {
        child.kill("SIGKILL");
        await exited;
    }
}
