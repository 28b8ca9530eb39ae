/** A swarm service's tasks, as the engine's task list gives them. */
import type Docker from "dockerode";

export interface SwarmTask {
    ID: string;
    /** The node the task runs on. */
    NodeID: string;
    Slot: number;
    Status: { State: string; ContainerStatus?: { ContainerID?: string } };
    Spec: { ContainerSpec: { Image: string } };
}

/** The service's tasks that the swarm wants running and that run (not those starting, or shutting down). */
export async function runningTasksOf(docker: Docker, service: string): Promise<SwarmTask[]> {
    const tasks = (await docker.listTasks({ filters: JSON.stringify({ service: [service], "desired-state": ["running"] }) })) as SwarmTask[];
    return tasks.filter((t) => t.Status.State === "running");
}
