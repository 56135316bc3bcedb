package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"strings"
)

// peerData is the peers' figures the page shows for scale: measured data
// with its source and date, kept in a file beside the page
// (docs/bench-peers.json), not in the tool, so that they are updated like
// any other measurement and never pass for this run's.
type peerData struct {
	Measured string `json:"measured"` // date of the measurement, YYYY-MM-DD
	Source   string `json:"source"`   // how and by what it was measured
	Peers    []peer `json:"peers"`
}

type peer struct {
	Server         string `json:"server"`
	Version        string `json:"version"`
	KiBPerConn     string `json:"kib_per_conn"`
	LastDeliveryMS string `json:"last_delivery_ms"`
	CPUPerDelivery string `json:"cpu_per_delivery"`
	FanoutP50P99MS string `json:"fanout_p50_p99_ms"`
}

// readPeers reads a peers file; a missing file is (nil, nil): the page
// then has no Context section.
func readPeers(path string) (*peerData, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var p peerData
	if err := json.Unmarshal(b, &p); err != nil {
		return nil, fmt.Errorf("peers %s: %w", path, err)
	}
	if p.Measured == "" || p.Source == "" || len(p.Peers) == 0 {
		return nil, fmt.Errorf("peers %s: measured, source and peers are required", path)
	}
	return &p, nil
}

// markdown renders the Context section.
func (p *peerData) markdown(b *bytes.Buffer, file string) {
	b.WriteString("\n## Context\n\n")
	fmt.Fprintf(b, "For scale only, not measured in this run: peers measured on %s (from `%s`). %s\n\n", p.Measured, file, p.Source)
	b.WriteString("| server | KiB/conn idle | last delivery, median ms | server CPU per delivery | 100k deliveries/s offered: p50 / p99 ms |\n|---|---:|---:|---:|---:|\n")
	for _, x := range p.Peers {
		name := x.Server
		if x.Version != "" {
			name += " " + x.Version
		}
		fmt.Fprintf(b, "| %s | %s | %s | %s | %s |\n", cell(name), cell(x.KiBPerConn), cell(x.LastDeliveryMS), cell(x.CPUPerDelivery), cell(x.FanoutP50P99MS))
	}
}

func cell(s string) string { return strings.ReplaceAll(orDash(s), "|", `\|`) }
