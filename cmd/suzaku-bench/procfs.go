package main

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"
)

// The server's memory and CPU come from /proc, as `ps` and `top` read
// them: the tool and the servers run on the same machine.

// readRSS returns the resident set size of process pid in KiB (VmRSS).
func readRSS(pid int) (int64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	return parseStatusKiB(string(b), "VmRSS")
}

// parseStatusKiB returns the value of field (e.g. "VmRSS") of a
// /proc/PID/status text, in KiB.
func parseStatusKiB(status, field string) (int64, error) {
	for line := range strings.SplitSeq(status, "\n") {
		rest, ok := strings.CutPrefix(line, field+":")
		if !ok {
			continue
		}
		f := strings.Fields(rest)
		if len(f) != 2 || f[1] != "kB" {
			return 0, fmt.Errorf("status field %s: unexpected %q", field, rest)
		}
		return strconv.ParseInt(f[0], 10, 64)
	}
	return 0, fmt.Errorf("status field %s: not found", field)
}

// readCPU returns the CPU time (user + system) process pid has used.
func readCPU(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, err
	}
	ticks, err := parseStatTicks(string(b))
	if err != nil {
		return 0, err
	}
	return time.Duration(ticks) * time.Second / time.Duration(clockTicks), nil
}

// parseStatTicks returns utime + stime, in clock ticks, from a
// /proc/PID/stat line. The command name (field 2) may hold spaces and
// parentheses, so fields are counted from the last ')'.
func parseStatTicks(stat string) (int64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, errors.New("stat: no command name")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state); utime and stime are fields 14 and 15.
	if len(f) < 13 {
		return 0, errors.New("stat: too few fields")
	}
	u, err := strconv.ParseInt(f[11], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat utime: %w", err)
	}
	s, err := strconv.ParseInt(f[12], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("stat stime: %w", err)
	}
	return u + s, nil
}

// countFDs returns how many file descriptors process pid has open: after
// a scenario closes its connections, the server's count falls back once
// it has noticed.
func countFDs(pid int) (int, error) {
	f, err := os.Open(fmt.Sprintf("/proc/%d/fd", pid))
	if err != nil {
		return 0, err
	}
	defer f.Close()
	names, err := f.Readdirnames(-1)
	return len(names), err
}

// clockTicks is the unit of /proc/PID/stat times (sysconf(_SC_CLK_TCK)),
// read from the auxiliary vector; 100 on every common Linux.
var clockTicks = readClockTicks()

func readClockTicks() int64 {
	b, err := os.ReadFile("/proc/self/auxv")
	if err != nil {
		return 100
	}
	return parseAuxvClockTicks(b, 100)
}

// parseAuxvClockTicks finds AT_CLKTCK (17) in a 64-bit little-endian
// auxiliary vector, or returns def.
func parseAuxvClockTicks(auxv []byte, def int64) int64 {
	const atClkTck = 17
	r := bytes.NewReader(auxv)
	for {
		var kv [2]uint64
		if err := binary.Read(r, binary.LittleEndian, &kv); err != nil || kv[0] == 0 {
			return def
		}
		if kv[0] == atClkTck && kv[1] > 0 {
			return int64(kv[1])
		}
	}
}
