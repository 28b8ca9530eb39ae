/**
 * What a registry replica answered, read from its log: distribution logs one
 * `response completed` line per request it finished (errors included, with their status).
 */
import { dockerCli } from "./liveDeployment";

/** The replica container's answers, all of them or those logged since `since` (an RFC 3339 time). */
export async function loggedAnswers(container: string, since?: string): Promise<string[]> {
    const log = await dockerCli(["logs", ...(since === undefined ? [] : ["--since", since]), container]);
    return log.split("\n").filter((line) => line.includes("response completed"));
}
