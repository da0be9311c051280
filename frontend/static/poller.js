// A repeating task with a bound: one run at a time (the next starts `intervalMs` after the last ended),
// stopped when the task says it is done, when it has run for `watchMs`, or by stop().

export class Poller {
  /**
   * task(): a Promise of true when there is nothing left to watch.
   * onEnd(why): called once, with "done", "time limit" or "stopped".
   */
  constructor(task, { intervalMs, watchMs = Number.POSITIVE_INFINITY, onEnd = () => {} }) {
    if (!(intervalMs > 0)) throw new Error("Poller needs a positive intervalMs");
    this.task = task;
    this.intervalMs = intervalMs;
    this.watchMs = watchMs;
    this.onEnd = onEnd;
    this.timer = null;
    this.running = false;
    this.startedAt = 0;
  }

  start() {
    if (this.running) return;
    this.running = true;
    this.startedAt = performance.now();
    this.tick();
  }

  async tick() {
    this.timer = null;
    if (!this.running) return;
    let done = false;
    try {
      done = await this.task();
    } catch (error) {
      console.warn("poll failed; trying again", error); // the task shows the error; keep watching
    }
    if (!this.running) return;
    if (done) this.end("done");
    else if (performance.now() - this.startedAt >= this.watchMs) this.end("time limit");
    else this.timer = setTimeout(() => this.tick(), this.intervalMs);
  }

  end(why) {
    this.running = false;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    this.onEnd(why);
  }

  stop() {
    if (this.running) this.end("stopped");
  }
}
