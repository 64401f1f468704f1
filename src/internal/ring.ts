/**
 * A growable ring buffer used as a FIFO queue on the hot path (mailboxes,
 * the dispatcher's ready queue). Plain JS: no Effect, no allocation per push
 * once warmed up.
 *
 * @internal
 */
export class Ring<A> {
  private items: Array<A | undefined>
  private head = 0
  private tail = 0
  private mask: number
  length = 0

  constructor(initialCapacity = 8) {
    let capacity = 8
    while (capacity < initialCapacity) capacity <<= 1
    this.items = new Array<A | undefined>(capacity)
    this.mask = capacity - 1
  }

  push(item: A): void {
    if (this.length === this.items.length) this.grow()
    this.items[this.tail] = item
    this.tail = (this.tail + 1) & this.mask
    this.length++
  }

  /** Puts an item in front of every other one. */
  unshift(item: A): void {
    if (this.length === this.items.length) this.grow()
    this.head = (this.head - 1) & this.mask
    this.items[this.head] = item
    this.length++
  }

  shift(): A | undefined {
    if (this.length === 0) return undefined
    const item = this.items[this.head]
    this.items[this.head] = undefined
    this.head = (this.head + 1) & this.mask
    this.length--
    return item
  }

  peek(): A | undefined {
    return this.length === 0 ? undefined : this.items[this.head]
  }

  /** Removes every item and returns them in order. */
  drain(): Array<A> {
    const out: Array<A> = []
    let item: A | undefined
    while ((item = this.shift()) !== undefined) out.push(item)
    return out
  }

  private grow(): void {
    const old = this.items
    const capacity = old.length * 2
    const items = new Array<A | undefined>(capacity)
    for (let i = 0; i < this.length; i++) items[i] = old[(this.head + i) & this.mask]
    this.items = items
    this.head = 0
    this.tail = this.length
    this.mask = capacity - 1
  }
}
