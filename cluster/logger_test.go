package cluster_test

import (
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"testing"

	"github.com/suzaku-go/suzaku/cluster"
	"github.com/suzaku-go/suzaku/internal/testutil"
)

// syncBuffer is a log destination for a clustered node, read as lines.
type syncBuffer struct{ testutil.SyncBuffer }

func (s *syncBuffer) lines() []string { return strings.Split(strings.TrimSpace(s.String()), "\n") }

// topKeys counts the top-level keys of a JSON object, duplicates included
// (decoding into a map would fold them).
func topKeys(line string) (map[string]int, error) {
	dec := json.NewDecoder(strings.NewReader(line))
	if tok, err := dec.Token(); err != nil || tok != json.Delim('{') {
		return nil, fmt.Errorf("not an object: %q", line)
	}
	keys := map[string]int{}
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return nil, err
		}
		keys[tok.(string)]++
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
	}
	return keys, nil
}

// TestClusterLogsNameNodeOnce: the JSON lines of a clustered node, from the
// broker, the presence tracker and the app's own logger, each name the node
// exactly once.
func TestClusterLogsNameNodeOnce(t *testing.T) {
	t.Parallel()
	url := redisURL(t) + "?cluster=" + newName()
	var buf syncBuffer
	log := slog.New(slog.NewJSONHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	a, err := cluster.New(cluster.Config{Broker: url, Node: "a", Logger: log})
	testutil.Success(t, err)
	b := newCluster(t, url, "b")
	start(t, a)
	stopB := start(t, b)
	const room = "room:logs"
	_, err = b.Presence().Track(t.Context(), &owner{room}, "bob", map[string]any{})
	testutil.Success(t, err)
	testutil.CheckFor(t, waitFor, func() error { return listed(a, room, "bob") })
	stopB() // a logs b's replica going away
	a.Logger().Info("app line")

	testutil.CheckFor(t, waitFor, func() error {
		var app, parts int
		for _, line := range buf.lines() {
			keys, err := topKeys(line)
			if err != nil {
				return err
			}
			if keys["node"] != 1 {
				return fmt.Errorf("%d node keys in %s", keys["node"], line)
			}
			if strings.Contains(line, `"msg":"app line"`) {
				app++
			} else {
				parts++
			}
		}
		if app != 1 || parts == 0 {
			return errors.New("want the app's line and the parts' lines:\n" + strings.Join(buf.lines(), "\n"))
		}
		return nil
	})
}
