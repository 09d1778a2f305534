package main

// One worker process: non-blocking sockets on one epoll instance, driven by
// a single goroutine. Each readable socket costs one read() into a shared
// buffer and a walk over frame headers; nothing is allocated per frame.

import (
	"bytes"
	"fmt"
	"net"
	"os"
	"os/signal"
	"runtime/pprof"
	"strconv"
	"strings"
	"syscall"
	"time"
)

type connState uint8

const (
	stConnecting connState = iota
	stHandshake
	stOpen
	stClosed
)

// conn is one viewer socket.
type conn struct {
	fd      int
	state   connState
	started time.Time
	head    []byte // the HTTP response while the handshake is under way
	r       frameReader
	w       *worker
}

func (c *conn) dataFrame() { c.w.frames++ }

func (c *conn) controlFrame(opcode byte, payload []byte) {
	switch opcode {
	case opPing:
		c.w.pings++
		c.write(clientFrame(opPong, payload))
	case opClose:
		// Echo the close, as the protocol asks, then let the server close the TCP side.
		code := ""
		if len(payload) >= 2 {
			code = strconv.Itoa(int(payload[0])<<8 | int(payload[1]))
		}
		c.w.fail(strings.TrimSpace("closed by the server " + code))
		c.write(clientFrame(opClose, payload[:min(len(payload), 2)]))
		c.w.closeConn(c, false)
	}
}

// write sends a small frame; a socket whose send buffer is full for a few bytes is broken anyway.
func (c *conn) write(p []byte) {
	for len(p) > 0 {
		n, err := syscall.Write(c.fd, p)
		if err == syscall.EINTR {
			continue
		}
		if err != nil || n <= 0 {
			return
		}
		p = p[n:]
	}
}

// target is where viewer i connects.
type target struct {
	addr syscall.SockaddrInet4
	host string
	path string
}

type worker struct {
	cfg     config
	epfd    int
	conns   []*conn // by fd
	pending int     // connecting or in the handshake
	open    int

	bytes, frames, pings uint64
	failed, closed       int
	reasons              map[string]int

	marks []counts
}

// counts is what this worker counted so far, for a mark.
func (w *worker) counts(start time.Time) counts {
	user, sys := cpuSplit()
	return counts{Seconds: time.Since(start).Seconds(), Bytes: w.bytes, Frames: w.frames, CPUSeconds: user + sys, SysSeconds: sys}
}

func (w *worker) fail(reason string) {
	if w.reasons == nil {
		w.reasons = map[string]int{}
	}
	w.reasons[reason]++
}

func cpuSeconds() float64 {
	user, sys := cpuSplit()
	return user + sys
}

// cpuSplit is this process's user and system CPU seconds: for a byte counter most of it is the kernel's.
func cpuSplit() (user, sys float64) {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0, 0
	}
	return float64(ru.Utime.Nano()) / 1e9, float64(ru.Stime.Nano()) / 1e9
}

// raiseFdLimit sets the soft descriptor limit to what one process may hold.
func raiseFdLimit(want uint64) uint64 {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return 1024
	}
	lim.Cur = min(want, lim.Max)
	_ = syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	_ = syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim)
	return lim.Cur
}

func resolveTargets(cfg config) ([]target, error) {
	var out []target
	for _, e := range cfg.edges {
		host, port, err := net.SplitHostPort(e)
		if err != nil {
			return nil, fmt.Errorf("edge %q: %w", e, err)
		}
		ips, err := net.LookupIP(host)
		if err != nil {
			return nil, fmt.Errorf("edge %q: %w", e, err)
		}
		var ip4 net.IP
		for _, ip := range ips {
			if ip4 = ip.To4(); ip4 != nil {
				break
			}
		}
		if ip4 == nil {
			return nil, fmt.Errorf("edge %q: no IPv4 address", e)
		}
		p, err := strconv.Atoi(port)
		if err != nil || p <= 0 || p > 65535 {
			return nil, fmt.Errorf("edge %q: bad port", e)
		}
		t := target{host: e}
		t.addr.Port = p
		copy(t.addr.Addr[:], ip4)
		out = append(out, t)
	}
	return out, nil
}

func (w *worker) pathFor(room string) string {
	return strings.ReplaceAll(w.cfg.path, "{room}", room)
}

// dial starts a non-blocking connect; the handshake goes out once it is writable.
func (w *worker) dial(t target, room string) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_NONBLOCK|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		w.failed++
		w.fail("socket: " + err.Error())
		return
	}
	_ = syscall.SetsockoptInt(fd, syscall.IPPROTO_TCP, syscall.TCP_NODELAY, 1)
	err = syscall.Connect(fd, &t.addr)
	if err != nil && err != syscall.EINPROGRESS {
		syscall.Close(fd)
		w.failed++
		w.fail("connect: " + err.Error())
		return
	}
	for fd >= len(w.conns) {
		w.conns = append(w.conns, make([]*conn, len(w.conns)+1024)...)
	}
	c := &conn{fd: fd, state: stConnecting, started: time.Now(), w: w}
	w.conns[fd] = c
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLOUT | syscall.EPOLLRDHUP, Fd: int32(fd)}
	if err := syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		w.conns[fd] = nil
		syscall.Close(fd)
		w.failed++
		w.fail("epoll: " + err.Error())
		return
	}
	w.pending++
	c.head = w.request(t, room)
}

func (w *worker) request(t target, room string) []byte {
	return []byte("GET " + w.pathFor(room) + " HTTP/1.1\r\nHost: " + t.host +
		"\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==" +
		"\r\nSec-WebSocket-Version: 13\r\n\r\n")
}

// closeConn releases a socket; a pending one counts as failed, an open one as closed.
func (w *worker) closeConn(c *conn, failed bool) {
	if c.state == stClosed {
		return
	}
	if c.state == stOpen {
		w.open--
		w.closed++
	} else {
		w.pending--
		if failed {
			w.failed++
		}
	}
	c.state = stClosed
	_ = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_DEL, c.fd, nil)
	syscall.Close(c.fd)
	w.conns[c.fd] = nil
}

func (w *worker) onEvent(c *conn, events uint32, buf []byte) {
	switch c.state {
	case stConnecting:
		if events&(syscall.EPOLLERR|syscall.EPOLLHUP) != 0 || events&syscall.EPOLLOUT == 0 {
			soerr, _ := syscall.GetsockoptInt(c.fd, syscall.SOL_SOCKET, syscall.SO_ERROR)
			w.fail("connect: " + syscall.Errno(soerr).Error())
			w.closeConn(c, true)
			return
		}
		req := c.head
		c.head = c.head[:0]
		n, err := syscall.Write(c.fd, req)
		if err != nil || n != len(req) {
			w.fail("handshake write failed")
			w.closeConn(c, true)
			return
		}
		c.state = stHandshake
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: int32(c.fd)}
		_ = syscall.EpollCtl(w.epfd, syscall.EPOLL_CTL_MOD, c.fd, &ev)
	case stHandshake, stOpen:
		n, err := syscall.Read(c.fd, buf)
		if err == syscall.EAGAIN || err == syscall.EINTR {
			return
		}
		if err != nil || n == 0 {
			if c.state == stHandshake {
				w.fail("closed before the upgrade")
			} else {
				w.fail("connection closed")
			}
			w.closeConn(c, true)
			return
		}
		p := buf[:n]
		if c.state == stHandshake {
			c.head = append(c.head, p...)
			end := bytes.Index(c.head, []byte("\r\n\r\n"))
			if end < 0 {
				if len(c.head) > 8192 {
					w.fail("handshake response too long")
					w.closeConn(c, true)
				}
				return
			}
			if !bytes.HasPrefix(c.head, []byte("HTTP/1.1 101")) {
				line, _, _ := bytes.Cut(c.head, []byte("\r\n"))
				w.fail(string(line))
				w.closeConn(c, true)
				return
			}
			rest := c.head[end+4:]
			c.head = nil
			c.state = stOpen
			w.pending--
			w.open++
			w.bytes += uint64(len(rest))
			c.r.feed(rest, c)
			return
		}
		w.bytes += uint64(n)
		c.r.feed(p, c)
	}
}

// dispatch hands each ready socket its event.
func (w *worker) dispatch(events []syscall.EpollEvent, buf []byte) {
	for i := range events {
		fd := int(events[i].Fd)
		if fd < len(w.conns) && w.conns[fd] != nil {
			w.onEvent(w.conns[fd], events[i].Events, buf)
		}
	}
}

// run opens this worker's viewers, reads until SIGTERM (or the hold ends) and reports.
func runWorker(cfg config, first, count int) error {
	limit := raiseFdLimit(uint64(cfg.fdLimit))
	if uint64(count)+32 > limit {
		return fmt.Errorf("%d sockets need more than the %d descriptors this process may hold: use more -procs", count, limit)
	}
	targets, err := resolveTargets(cfg)
	if err != nil {
		return err
	}
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return err
	}
	w := &worker{cfg: cfg, epfd: epfd}
	if cfg.cpuProfile != "" {
		f, err := os.Create(fmt.Sprintf("%s/loadgen-%d.pprof", cfg.cpuProfile, first))
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	sig := make(chan os.Signal, 4)
	signal.Notify(sig, syscall.SIGTERM, syscall.SIGINT, syscall.SIGUSR1)
	out := newReporter(os.Stdout)

	buf := make([]byte, 256<<10)
	events := make([]syscall.EpollEvent, 1024)
	start := time.Now()
	next := 0
	ready := false
	stop := false
	var readyAt time.Time
	lastSweep := start
	var lastTick time.Time
	for !stop {
		now := time.Now()
		// Open connections at the ramp rate, with a bound on those still under way.
		if next < count {
			due := int(now.Sub(start).Seconds()*float64(cfg.ramp)) + 1
			for next < count && next < due && w.pending < cfg.maxPending {
				i := first + next
				t := targets[i%len(targets)]
				w.dial(t, cfg.rooms[i%len(cfg.rooms)])
				next++
			}
		}
		if now.Sub(lastSweep) > time.Second {
			lastSweep = now
			for _, c := range w.conns {
				if c != nil && c.state != stOpen && now.Sub(c.started) > cfg.connectTimeout {
					w.fail("upgrade timed out")
					w.closeConn(c, true)
				}
			}
		}
		if !ready && next >= count && w.pending == 0 {
			ready = true
			readyAt = now
			out.line(map[string]any{"kind": "ready", "open": w.open, "failed": w.failed, "pid": os.Getpid()})
		}
		if ready && cfg.hold > 0 && now.Sub(readyAt) >= cfg.hold {
			break
		}
		// Read less often when asked: fewer, larger reads per socket (the kernel keeps the bytes).
		if ready && cfg.tick > 0 {
			if wait := cfg.tick - now.Sub(lastTick); wait > 0 {
				time.Sleep(wait)
			}
			lastTick = time.Now()
		}
		timeout := 50
		if ready && cfg.tick > 0 {
			timeout = 0
		}
		// With a tick, take every socket that became readable since the last one, not only the first 1,024.
		for round := 0; ; round++ {
			n, err := syscall.EpollWait(epfd, events, timeout)
			if err != nil && err != syscall.EINTR {
				return err
			}
			w.dispatch(events[:max(n, 0)], buf)
			if timeout > 0 || n < len(events) || round >= 64 {
				break
			}
		}
		for drained := false; !drained; {
			select {
			case s := <-sig:
				if s == syscall.SIGUSR1 {
					w.marks = append(w.marks, w.counts(start))
					out.line(map[string]string{"kind": "marked"})
				} else {
					stop = true
				}
			default:
				drained = true
			}
		}
	}
	// Count what already arrived before closing: a close the server sent just before the stop is in the report.
	for round := 0; round < 64; round++ {
		n, err := syscall.EpollWait(epfd, events, 0)
		if err == syscall.EINTR {
			continue
		}
		w.dispatch(events[:max(n, 0)], buf)
		if err != nil || n < len(events) {
			break
		}
	}
	openAtStop := w.open
	// Close cleanly: a close frame (1000), then the socket.
	closing := clientFrame(opClose, []byte{0x03, 0xe8})
	for _, c := range w.conns {
		if c == nil {
			continue
		}
		if c.state == stOpen {
			c.write(closing)
			w.open--
		} else {
			w.pending--
		}
		c.state = stClosed
		syscall.Close(c.fd)
	}
	syscall.Close(epfd)
	rep := workerReport{
		Kind: "report", Open: openAtStop, Failed: w.failed, Closed: w.closed, Bytes: w.bytes, Frames: w.frames, Pings: w.pings,
		CPUSeconds: cpuSeconds(), SysSeconds: func() float64 { _, s := cpuSplit(); return s }(), Seconds: time.Since(start).Seconds(), Reasons: w.reasons,
	}
	rep.Marks = w.marks
	out.line(rep)
	return nil
}
