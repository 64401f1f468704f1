/**
 * Baseline 2: a plain JavaScript actor, the limit in Node.
 *
 * An array queue drained by a resident `async` loop: `tell` pushes and wakes
 * the loop if it is parked; the loop calls the handler on each queued message
 * in order (awaiting it only when it returns a Promise), then parks on a
 * fresh Promise until the next `tell`. An ask carries the Promise's `resolve`
 * in the message. No Effect anywhere: this is what the runtime itself costs.
 */

/** A message that expects a reply: the handler calls `reply`. */
export interface Request<A> {
  readonly reply: (value: A) => void
}

/** A running plain-JS actor. */
export class JsActor<M> {
  private queue: Array<M | undefined> = []
  private head = 0
  private wake: (() => void) | undefined = undefined
  private stopped = false

  constructor(
    private readonly handle: (message: M) => void | Promise<void>,
    /** Called once when the loop has ended (after `stop`). */
    private readonly onStop?: () => void
  ) {
    void this.loop()
  }

  /** Sends a message without waiting. */
  tell(message: M): void {
    this.queue.push(message)
    const wake = this.wake
    if (wake !== undefined) {
      this.wake = undefined
      wake()
    }
  }

  /** Sends the request built around a fresh Promise's `resolve` and returns the Promise. */
  ask<A>(request: (reply: (value: A) => void) => M): Promise<A> {
    return new Promise<A>((resolve) => this.tell(request(resolve)))
  }

  /** Stops the loop once the queue is empty. */
  stop(): void {
    this.stopped = true
    const wake = this.wake
    this.wake = undefined
    wake?.()
  }

  private async loop(): Promise<void> {
    for (;;) {
      while (this.head < this.queue.length) {
        const message = this.queue[this.head] as M
        this.queue[this.head++] = undefined
        const result = this.handle(message)
        if (result !== undefined) await result
      }
      this.queue.length = 0
      this.head = 0
      if (this.stopped) {
        this.onStop?.()
        return
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve
      })
    }
  }
}
