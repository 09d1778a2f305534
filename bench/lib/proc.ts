/**
 * Process and machine facts from /proc: CPU time and RSS of a process by pid,
 * so servers are measured apart from the load generator.
 */
import { readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { execFileSync } from 'node:child_process';

/** Clock ticks per second for /proc/<pid>/stat times (USER_HZ, 100 on Linux). */
const clockTicks = 100;
const pageSize = 4096;

/** CPU seconds (user + system) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the command name, which is in parentheses and may hold spaces.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) / clockTicks;
}

/** Resident set size of a process in bytes. */
export function rssBytes(pid: number): number {
  const statm = readFileSync(`/proc/${pid}/statm`, 'utf8').split(' ');
  return Number(statm[1]) * pageSize;
}

/** Measures CPU % of a process between `start()` and `stop()`, and its peak RSS sampled meanwhile. */
export class ProcessMeter {
  private cpu0 = 0;
  private t0 = 0;
  private peak = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(readonly pid: number) {}

  start(): void {
    this.cpu0 = cpuSeconds(this.pid);
    this.t0 = performance.now();
    this.peak = rssBytes(this.pid);
    this.timer = setInterval(() => {
      try {
        this.peak = Math.max(this.peak, rssBytes(this.pid));
      } catch {
        // The process went away; stop() reports what was seen.
      }
    }, 200);
  }

  /** CPU % of one core over the interval (200 = two cores busy) and peak RSS in bytes. */
  stop(): { cpuPercent: number; rssPeak: number } {
    clearInterval(this.timer);
    const seconds = (performance.now() - this.t0) / 1000;
    let cpu = 0;
    try {
      cpu = cpuSeconds(this.pid) - this.cpu0;
      this.peak = Math.max(this.peak, rssBytes(this.pid));
    } catch {
      // Gone: report what was measured.
    }
    return { cpuPercent: seconds > 0 ? (100 * cpu) / seconds : 0, rssPeak: this.peak };
  }
}

/** Facts about the machine that belong beside any number measured on it. */
export interface MachineFacts {
  date: string;
  nproc: number;
  cpuModel: string;
  node: string;
  uptime: string;
  loadavg: [number, number, number];
  memTotalGiB: number;
}

export function machineFacts(): MachineFacts {
  let uptime = '';
  try {
    uptime = execFileSync('uptime', { encoding: 'utf8' }).trim();
  } catch {
    uptime = `load average: ${loadavg().join(', ')}`;
  }
  const mem = /MemTotal:\s+(\d+)/.exec(readFileSync('/proc/meminfo', 'utf8'));
  const la = loadavg();
  return {
    date: new Date().toISOString(),
    nproc: Number(execFileSync('nproc', { encoding: 'utf8' }).trim()),
    cpuModel: cpus()[0]?.model ?? 'unknown',
    node: process.version,
    uptime,
    loadavg: [la[0] ?? 0, la[1] ?? 0, la[2] ?? 0],
    memTotalGiB: mem ? Math.round(Number(mem[1]) / 1024 / 1024) : 0,
  };
}
