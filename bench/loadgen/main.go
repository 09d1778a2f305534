// Command loadgen opens many WebSocket viewer connections to Barrage edges
// and only counts what they receive: bytes, data frames, pings (answered).
// It spreads the sockets over several worker processes, each allowed at most
// -fd-limit descriptors, and prints one JSON report on stdout when it stops
// (SIGTERM, SIGINT, or the end of -hold). Each SIGUSR1 is a mark: the report
// lists the counts at every mark, so a harness takes a window's difference.
//
//	loadgen -edges 127.0.0.1:4001,127.0.0.1:4002 -rooms live -viewers 20000
//
// Progress goes to stderr; once every socket has been tried it prints
//
//	loadgen ready {"open":...,"failed":...,"pids":[...]}
//
// there, so a harness knows when to start measuring, and after SIGUSR1,
// once every worker has taken the mark, "loadgen marked".
package main

import (
	"bufio"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"time"
)

type config struct {
	edges          []string
	rooms          []string
	path           string
	viewers        int
	procs          int
	fdLimit        int
	ramp           int
	maxPending     int
	connectTimeout time.Duration
	hold           time.Duration
	tick           time.Duration
	cpuProfile     string
}

// counts are the totals at one mark (SIGUSR1), seconds after the worker started.
type counts struct {
	Seconds    float64 `json:"seconds"`
	Bytes      uint64  `json:"bytes"`
	Frames     uint64  `json:"frames"`
	CPUSeconds float64 `json:"cpuSeconds"`
	SysSeconds float64 `json:"sysSeconds"` // the kernel's part of cpuSeconds
}

// workerReport is one worker's last line; the parent's report has the same shape, summed.
type workerReport struct {
	Kind       string         `json:"kind,omitempty"`
	Viewers    int            `json:"viewers,omitempty"`
	Procs      int            `json:"procs,omitempty"`
	Open       int            `json:"open"`
	Failed     int            `json:"failed"`
	Closed     int            `json:"closed"`
	Bytes      uint64         `json:"bytes"`
	Frames     uint64         `json:"frames"`
	Pings      uint64         `json:"pings"`
	CPUSeconds float64        `json:"cpuSeconds"`
	SysSeconds float64        `json:"sysSeconds"`
	Seconds    float64        `json:"seconds"`
	Marks      []counts       `json:"marks,omitempty"`
	Reasons    map[string]int `json:"reasons,omitempty"`
}

type reporter struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newReporter(w io.Writer) *reporter { return &reporter{enc: json.NewEncoder(w)} }

func (r *reporter) line(v any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.enc.Encode(v)
}

func splitList(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}

func parseFlags(args []string) (config, int, int, error) {
	fs := flag.NewFlagSet("loadgen", flag.ContinueOnError)
	edges := fs.String("edges", "", "comma-separated host:port of the edges; viewer i goes to edge i mod n")
	rooms := fs.String("rooms", "live", "comma-separated rooms; viewer i joins room i mod n")
	path := fs.String("path", "/ws?room={room}", "request path; {room} is replaced by the viewer's room")
	viewers := fs.Int("viewers", 1000, "sockets to open in all")
	procs := fs.Int("procs", 0, "worker processes (0: as few as the descriptor limit allows, at least 2 above 10,000 viewers)")
	fdLimit := fs.Int("fd-limit", 20000, "descriptors one worker process may hold")
	ramp := fs.Int("ramp", 4000, "connections opened per second per worker")
	maxPending := fs.Int("max-pending", 500, "connections under way at once per worker")
	connectTimeout := fs.Duration("connect-timeout", 15*time.Second, "time to finish the upgrade before a socket counts as failed")
	hold := fs.Duration("hold", 0, "stop this long after every socket was tried (0: wait for SIGTERM)")
	tick := fs.Duration("tick", 0, "read each socket at most once per tick (0: as soon as it is readable)")
	cpuProfile := fs.String("cpuprofile", "", "directory for a Go CPU profile of each worker (loadgen-<first viewer>.pprof)")
	shard := fs.String("worker", "", "internal: first,count of the viewers this worker opens")
	if err := fs.Parse(args); err != nil {
		return config{}, 0, 0, err
	}
	cfg := config{
		edges: splitList(*edges), rooms: splitList(*rooms), path: *path, viewers: *viewers, procs: *procs,
		fdLimit: *fdLimit, ramp: *ramp, maxPending: *maxPending, connectTimeout: *connectTimeout, hold: *hold, tick: *tick,
		cpuProfile: *cpuProfile,
	}
	switch {
	case len(cfg.edges) == 0:
		return cfg, 0, 0, fmt.Errorf("-edges is required")
	case len(cfg.rooms) == 0:
		return cfg, 0, 0, fmt.Errorf("-rooms is empty")
	case !strings.HasPrefix(cfg.path, "/"):
		return cfg, 0, 0, fmt.Errorf("-path must start with /")
	case cfg.viewers < 0 || cfg.procs < 0 || cfg.fdLimit < 128 || cfg.ramp < 1 || cfg.maxPending < 1 || cfg.tick < 0:
		return cfg, 0, 0, fmt.Errorf("a count or duration is out of range")
	}
	first, count := -1, 0
	if *shard != "" {
		a, b, ok := strings.Cut(*shard, ",")
		f, err1 := strconv.Atoi(a)
		c, err2 := strconv.Atoi(b)
		if !ok || err1 != nil || err2 != nil || f < 0 || c < 0 {
			return cfg, 0, 0, fmt.Errorf("bad -worker %q", *shard)
		}
		first, count = f, c
	}
	return cfg, first, count, nil
}

func main() {
	cfg, first, count, err := parseFlags(os.Args[1:])
	if err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(2)
	}
	if first >= 0 {
		if err := runWorker(cfg, first, count); err != nil {
			fmt.Fprintln(os.Stderr, "loadgen worker:", err)
			os.Exit(1)
		}
		return
	}
	if err := runParent(cfg); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

// runParent starts the workers, forwards signals to them and sums their reports.
func runParent(cfg config) error {
	perProc := cfg.fdLimit - 100
	procs := cfg.procs
	if procs == 0 {
		procs = (cfg.viewers + perProc - 1) / perProc
		if cfg.viewers > 10_000 && procs < 2 {
			procs = 2
		}
		procs = max(procs, 1)
	}
	if (cfg.viewers+procs-1)/procs > perProc {
		return fmt.Errorf("%d viewers over %d processes exceed %d sockets per process", cfg.viewers, procs, perProc)
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	// A harness that dies without stopping us (a crashed test) must not leave sockets open for ever:
	// once reparented, stop as if told to.
	go func(ppid int) {
		for range time.Tick(time.Second) {
			if os.Getppid() != ppid {
				sig <- syscall.SIGTERM
				return
			}
		}
	}(os.Getppid())
	type child struct {
		cmd    *exec.Cmd
		ready  chan workerReport
		marked chan struct{}
		report chan workerReport
		done   chan struct{}
	}
	children := make([]*child, 0, procs)
	per := (cfg.viewers + procs - 1) / procs
	for i := 0; i < procs; i++ {
		f := i * per
		n := min(per, cfg.viewers-f)
		if n < 0 {
			n = 0
		}
		args := append([]string{}, os.Args[1:]...)
		args = append(args, "-worker", fmt.Sprintf("%d,%d", f, n))
		cmd := exec.Command(self, args...)
		cmd.Stderr = os.Stderr
		// A worker must not outlive its parent, whatever kills the parent.
		cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			return err
		}
		if err := cmd.Start(); err != nil {
			return err
		}
		c := &child{cmd: cmd, ready: make(chan workerReport, 1), marked: make(chan struct{}, 16), report: make(chan workerReport, 1), done: make(chan struct{})}
		children = append(children, c)
		go func() {
			sc := bufio.NewScanner(stdout)
			for sc.Scan() {
				var r workerReport
				if json.Unmarshal(sc.Bytes(), &r) != nil {
					continue
				}
				switch r.Kind {
				case "ready":
					c.ready <- r
				case "marked":
					c.marked <- struct{}{}
				default:
					c.report <- r
				}
			}
			close(c.report)
			close(c.done)
		}()
	}
	signalAll := func(s syscall.Signal) {
		for _, c := range children {
			_ = c.cmd.Process.Signal(s)
		}
	}
	// A mark is acknowledged once every worker has taken it, so a harness can start its window then.
	mark := func() {
		signalAll(syscall.SIGUSR1)
		go func() {
			for _, c := range children {
				select {
				case <-c.marked:
				case <-time.After(5 * time.Second):
				}
			}
			fmt.Fprintln(os.Stderr, "loadgen marked")
		}()
	}
	// Ready: every worker has tried all its sockets (or died trying).
	var open, failed int
	pids := []int{}
	stopping := false
	for i := 0; i < len(children) && !stopping; {
		c := children[i]
		select {
		case r := <-c.ready:
			open += r.Open
			failed += r.Failed
			pids = append(pids, c.cmd.Process.Pid)
			i++
		case <-c.done:
			// The worker ended before it was ready; its report (if any) is summed below.
			i++
		case s := <-sig:
			if s == syscall.SIGUSR1 {
				mark()
			} else {
				stopping = true
			}
		}
	}
	if !stopping {
		b, _ := json.Marshal(map[string]any{"open": open, "failed": failed, "pids": pids, "parent": os.Getpid()})
		fmt.Fprintf(os.Stderr, "loadgen ready %s\n", b)
	}
	if !stopping && cfg.hold == 0 {
		for s := range sig {
			if s == syscall.SIGUSR1 {
				mark()
				continue
			}
			break
		}
		stopping = true
	}
	// With -hold the workers stop on their own; a signal meanwhile still stops them now.
	var deadline <-chan time.Time
	if stopping {
		signalAll(syscall.SIGTERM)
		deadline = time.After(15 * time.Second)
	}
	sum := workerReport{Viewers: cfg.viewers, Procs: procs, Reasons: map[string]int{}}
	for _, c := range children {
		var r workerReport
		var got, waiting = false, true
		for waiting {
			select {
			case r, got = <-c.report:
				waiting = false
			case s := <-sig:
				if s == syscall.SIGUSR1 {
					mark()
				} else if deadline == nil {
					signalAll(syscall.SIGTERM)
					deadline = time.After(15 * time.Second)
				}
			case <-deadline:
				_ = c.cmd.Process.Kill()
				sum.Reasons["worker did not report"]++
				waiting = false
				expired := make(chan time.Time)
				close(expired)
				deadline = expired
			}
		}
		_ = c.cmd.Wait()
		if !got {
			if c.cmd.ProcessState != nil && c.cmd.ProcessState.ExitCode() != -1 {
				sum.Reasons[fmt.Sprintf("worker exited (%d) without a report", c.cmd.ProcessState.ExitCode())]++
			}
			continue
		}
		sum.Open += r.Open
		sum.Failed += r.Failed
		sum.Closed += r.Closed
		sum.Bytes += r.Bytes
		sum.Frames += r.Frames
		sum.Pings += r.Pings
		sum.CPUSeconds += r.CPUSeconds
		sum.SysSeconds += r.SysSeconds
		sum.Seconds = max(sum.Seconds, r.Seconds)
		for k, v := range r.Reasons {
			sum.Reasons[k] += v
		}
		for i, k := range r.Marks {
			if i == len(sum.Marks) {
				sum.Marks = append(sum.Marks, counts{})
			}
			s := &sum.Marks[i]
			s.Seconds = max(s.Seconds, k.Seconds)
			s.Bytes += k.Bytes
			s.Frames += k.Frames
			s.CPUSeconds += k.CPUSeconds
			s.SysSeconds += k.SysSeconds
		}
	}
	sum.CPUSeconds += cpuSeconds()
	if len(sum.Reasons) == 0 {
		sum.Reasons = nil
	}
	newReporter(os.Stdout).line(sum)
	return nil
}
