//go:build linux

package transport

import (
	"errors"
	"os"
	"runtime"
	"sync"
	"sync/atomic"
	"syscall"
	"unsafe"
)

// eventLoop reads idle connections without a goroutine each: a few
// pollers (one per CPU) wait on epoll and read whichever connection has
// bytes, into one buffer per poller. A connection costs its socket, its
// wsConn and its session; nothing while it is idle.
type eventLoop struct {
	pollers []*poller
	next    atomic.Uint32
	ids     atomic.Uint64
}

type poller struct {
	epfd int
	// epf owns epfd, registered with Go's own netpoller: run parks on
	// it (through ep) when nothing is ready rather than blocking in
	// epoll_wait, so a waiting poller holds no P (a thread in a blocking
	// syscall keeps its P until sysmon takes it back, which can delay
	// every other goroutine on a small box).
	epf   *os.File
	ep    syscall.RawConn
	wakeR int // read end of the pipe that stops run
	wakeW int
	mu    sync.Mutex
	conns map[uint64]*wsConn
	done  chan struct{}
}

const readBufSize = 64 << 10

func newEventLoop() (*eventLoop, error) {
	n := runtime.GOMAXPROCS(0)
	l := &eventLoop{}
	for range n {
		p, err := newPoller()
		if err != nil {
			l.close()
			return nil, err
		}
		l.pollers = append(l.pollers, p)
		go p.run()
	}
	return l, nil
}

func newPoller() (*poller, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, err
	}
	var fds [2]int
	if err := syscall.Pipe2(fds[:], syscall.O_CLOEXEC|syscall.O_NONBLOCK); err != nil {
		syscall.Close(epfd)
		return nil, err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN} // id 0: wake-up
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fds[0], &ev); err != nil {
		syscall.Close(epfd)
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, err
	}
	// An epoll descriptor is itself pollable (readable while events are
	// ready); non-blocking, os.NewFile registers it with Go's netpoller,
	// and the file owns it from then on.
	var ep *os.File
	var rc syscall.RawConn
	err = syscall.SetNonblock(epfd, true)
	if err == nil {
		ep = os.NewFile(uintptr(epfd), "epoll")
		rc, err = ep.SyscallConn()
	}
	if err != nil {
		if ep != nil {
			ep.Close()
		} else {
			syscall.Close(epfd)
		}
		syscall.Close(fds[0])
		syscall.Close(fds[1])
		return nil, err
	}
	return &poller{epfd: epfd, ep: rc, epf: ep, wakeR: fds[0], wakeW: fds[1], conns: make(map[uint64]*wsConn), done: make(chan struct{})}, nil
}

// add registers c, whose reads then come from the loop.
func (l *eventLoop) add(c *wsConn) error {
	if c.raw == nil {
		return errors.New("transport: not a TCP connection")
	}
	p := l.pollers[int(l.next.Add(1))%len(l.pollers)]
	id := l.ids.Add(1)
	// c.mu orders this with ResumeReading: a connection paused by the
	// frames that came with the handshake joins epoll when it resumes.
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.finished { // finish ran first: it will not remove what we add
		return ErrConnClosed
	}
	c.loop, c.pollID = l, id
	p.mu.Lock()
	p.conns[id] = c
	p.mu.Unlock()
	if c.readPaused {
		return nil
	}
	var cerr error
	err := c.raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP}
		*(*uint64)(unsafe.Pointer(&ev.Fd)) = id
		cerr = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
	if err == nil {
		err = cerr
	}
	if err != nil {
		p.mu.Lock()
		delete(p.conns, id)
		p.mu.Unlock()
		c.loop = nil
	}
	return err
}

func (l *eventLoop) poller(c *wsConn) *poller {
	for _, p := range l.pollers {
		p.mu.Lock()
		_, ok := p.conns[c.pollID]
		p.mu.Unlock()
		if ok {
			return p
		}
	}
	return nil
}

// remove unregisters c; its socket must still be open.
func (l *eventLoop) remove(c *wsConn) {
	p := l.poller(c)
	if p == nil {
		return
	}
	p.mu.Lock()
	delete(p.conns, c.pollID)
	p.mu.Unlock()
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
}

// pause takes c out of epoll, keeping its id, so that the socket is not
// read until resume.
func (l *eventLoop) pause(c *wsConn) {
	p := l.poller(c)
	if p == nil {
		return
	}
	_ = c.raw.Control(func(fd uintptr) {
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_DEL, int(fd), nil)
	})
}

// resume puts c back in epoll; level-triggered, it fires at once if bytes
// arrived meanwhile.
func (l *eventLoop) resume(c *wsConn) {
	p := l.poller(c)
	if p == nil {
		return
	}
	_ = c.raw.Control(func(fd uintptr) {
		ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP}
		*(*uint64)(unsafe.Pointer(&ev.Fd)) = c.pollID
		_ = syscall.EpollCtl(p.epfd, syscall.EPOLL_CTL_ADD, int(fd), &ev)
	})
}

// close stops the pollers; their connections must be gone.
func (l *eventLoop) close() {
	for _, p := range l.pollers {
		_, _ = syscall.Write(p.wakeW, []byte{1})
	}
	for _, p := range l.pollers {
		<-p.done
	}
}

func (p *poller) run() {
	defer func() {
		p.epf.Close()
		syscall.Close(p.wakeR)
		syscall.Close(p.wakeW)
		close(p.done)
	}()
	buf := make([]byte, readBufSize)
	events := make([]syscall.EpollEvent, 128)
	for {
		n, err := p.wait(events)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return
		}
		for i := range n {
			id := *(*uint64)(unsafe.Pointer(&events[i].Fd))
			if id == 0 {
				return
			}
			p.mu.Lock()
			c := p.conns[id]
			p.mu.Unlock()
			if c != nil {
				c.readReady(buf)
			}
		}
	}
}

// wait returns the ready events: at once if there are some, else after
// parking on Go's netpoller until there are.
func (p *poller) wait(events []syscall.EpollEvent) (int, error) {
	var n int
	var werr error
	err := p.ep.Read(func(fd uintptr) bool {
		n, werr = syscall.EpollWait(int(fd), events, 0)
		return n != 0 || (werr != nil && !errors.Is(werr, syscall.EINTR))
	})
	if err != nil {
		return 0, err
	}
	return n, werr
}

// readReady reads what the socket holds, without ever blocking.
func (c *wsConn) readReady(buf []byte) {
	var n int
	var rerr error
	err := c.raw.Read(func(fd uintptr) bool {
		n, rerr = syscall.Read(int(fd), buf)
		return true
	})
	switch {
	case err != nil:
		c.finish()
	case errors.Is(rerr, syscall.EAGAIN):
	case rerr != nil || n <= 0:
		c.finish()
	default:
		c.onData(buf[:n])
	}
}

// writeNow writes hdr and data with one writev, without blocking. It
// returns how much the socket took; EAGAIN is not an error.
func writeNow(raw syscall.RawConn, hdr, data []byte) (int, error) {
	iov := [2]syscall.Iovec{{Base: &hdr[0]}, {}}
	iov[0].SetLen(len(hdr))
	cnt := 1
	if len(data) > 0 {
		iov[1].Base = &data[0]
		iov[1].SetLen(len(data))
		cnt = 2
	}
	var n int
	var werr error
	err := raw.Write(func(fd uintptr) bool {
		r, _, e := syscall.Syscall(syscall.SYS_WRITEV, fd, uintptr(unsafe.Pointer(&iov[0])), uintptr(cnt))
		if e != 0 {
			if e != syscall.EAGAIN {
				werr = e
			}
			return true
		}
		n = int(r)
		return true
	})
	if err != nil {
		return 0, err
	}
	return n, werr
}

const eventLoopSupported = true
