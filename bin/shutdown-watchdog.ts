/**
 * A shutdown deadline that holds even when the main thread cannot run.
 *
 * A timer on the main event loop only fires while that loop turns; a loop
 * stuck in a busy loop, in `Atomics.wait` (sonic-boom's exit flush on an
 * unread pipe did exactly that), in a blocking syscall or in an `exit`
 * listener never gets to it. So the deadline lives on its own thread: a
 * worker with its own event loop that, when the deadline passes, sends
 * SIGKILL to the process. SIGKILL cannot be caught or delayed, so the process
 * is gone at the deadline whatever the main thread is doing: the exit status
 * is 128 + 9 = 137 in a shell or Kubernetes, `signal: 'SIGKILL'` to a Node
 * parent.
 *
 * The worker is started when shutdown starts, not at boot: it costs ~9 MB of
 * RSS (its own V8 isolate) that an edge should not pay for its whole life.
 * Starting it needs the main thread for the few microseconds of `new
 * Worker()`; after that it runs on its own. It cannot help when the loop is
 * already frozen as the signal arrives (the signal handler itself runs on the
 * loop): that is why logging never blocks the loop (`log-destination.ts`).
 */
import { Worker } from 'node:worker_threads';

// Plain JavaScript, evaluated in the worker: no loader (tsx) and no file to resolve from src or dist.
const watchdogSource = `
const { workerData } = require('node:worker_threads');
setTimeout(() => process.kill(process.pid, 'SIGKILL'), Math.max(0, workerData.at - Date.now()));
`;

/** A started watchdog; `cancel()` only for tests and embedders that keep the process. */
export interface ShutdownWatchdog {
  cancel(): Promise<void>;
}

/**
 * Kills this process with SIGKILL `deadlineMs` from now, from a worker
 * thread that does not need the main thread to be responsive. Throws when
 * the worker cannot be started (the caller keeps its own main-thread timer).
 */
export function startShutdownWatchdog(deadlineMs: number, onError: (err: Error) => void = () => undefined): ShutdownWatchdog {
  const worker = new Worker(watchdogSource, {
    eval: true,
    // The parent may run under tsx (`--import`): the worker needs none of it.
    execArgv: [],
    workerData: { at: Date.now() + deadlineMs },
    // Its stdio would be relayed through the main thread; it writes nothing.
    stdout: true,
    stderr: true,
  });
  // The worker must not keep a process alive that has finished its shutdown.
  worker.unref();
  // An unhandled 'error' on a Worker would be thrown on the main thread.
  worker.on('error', onError);
  return {
    async cancel() {
      await worker.terminate();
    },
  };
}
