package main

import (
	"encoding/binary"
	"os"
	"runtime"
	"testing"

	"github.com/suzaku-go/suzaku/internal/testutil"
)

func TestProcParseStatusKiB(t *testing.T) {
	t.Parallel()
	status := "Name:\tconformance\nVmPeak:\t 1300000 kB\nVmRSS:\t   15876 kB\nRssAnon:\t    9000 kB\n"
	got, err := parseStatusKiB(status, "VmRSS")
	testutil.Success(t, err)
	testutil.Equal(t, "VmRSS", got, int64(15876))
	_, err = parseStatusKiB(status, "VmSwap")
	testutil.Error(t, err)
	_, err = parseStatusKiB("VmRSS:\t12 pages\n", "VmRSS")
	testutil.Error(t, err)
}

func TestProcParseStatTicks(t *testing.T) {
	t.Parallel()
	// The command name holds a space and a parenthesis, as it may.
	stat := "4242 (odd) name) S 1 4242 4242 0 -1 4194560 300 0 0 0 123 45 0 0 20 0 8 0 100 1000000 2000 18446744073709551615"
	got, err := parseStatTicks(stat)
	testutil.Success(t, err)
	testutil.Equal(t, "utime+stime", got, int64(168))
	_, err = parseStatTicks("4242 (x) S 1 2")
	testutil.Error(t, err)
}

func TestProcParseAuxvClockTicks(t *testing.T) {
	t.Parallel()
	var b []byte
	for _, kv := range [][2]uint64{{6, 4096}, {17, 250}, {0, 0}} {
		b = binary.LittleEndian.AppendUint64(b, kv[0])
		b = binary.LittleEndian.AppendUint64(b, kv[1])
	}
	testutil.Equal(t, "AT_CLKTCK", parseAuxvClockTicks(b, 100), int64(250))
	testutil.Equal(t, "missing", parseAuxvClockTicks(b[:16], 100), int64(100))
}

func TestProcReadSelf(t *testing.T) {
	t.Parallel()
	if runtime.GOOS != "linux" {
		t.Skip("reads /proc")
	}
	rss, err := readRSS(os.Getpid())
	testutil.Success(t, err)
	if rss <= 0 {
		t.Fatalf("readRSS(self) = %d, want > 0", rss)
	}
	_, err = readCPU(os.Getpid())
	testutil.Success(t, err)
	n, err := countFDs(os.Getpid())
	testutil.Success(t, err)
	if n < 3 {
		t.Fatalf("countFDs(self) = %d, want ≥ 3", n)
	}
}
