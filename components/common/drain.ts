/**
 * How long a stopping container may finish the requests in flight (a layer push can take a
 * minute on a slow link) before it is killed. The docker provider's default is 0 s: a hard
 * kill of every push and pull in flight on each replacement.
 */
export const DRAIN_SECONDS = 60;
