package transport

import (
	"time"

	"github.com/suzaku-go/suzaku/telemetry"
)

// Transport names, as in channel.ConnectInfo.Transport and telemetry
// events.
const (
	nameWebSocket = "websocket"
	nameLongPoll  = "longpoll"
)

// emitRefused reports a refused connection. Refusals are rare next to
// frames, so the helper need not inline.
func emitRefused(h telemetry.Hook, transport, reason string, status int) {
	if h != nil {
		h.Event(telemetry.Event{Kind: telemetry.KindConnectRefused, Transport: transport, Reason: reason, Code: status})
	}
}

func emitConnect(h telemetry.Hook, transport, serializer string, took time.Duration) {
	if h != nil {
		h.Event(telemetry.Event{Kind: telemetry.KindConnect, Transport: transport, Serializer: serializer, Duration: took})
	}
}

func emitDisconnect(h telemetry.Hook, transport string, code int, born int64) {
	if h != nil {
		h.Event(telemetry.Event{Kind: telemetry.KindDisconnect, Transport: transport, Code: code, Duration: time.Duration(time.Now().UnixNano() - born)})
	}
}

func emitSlowClient(h telemetry.Hook, transport string, dropped int) {
	if h != nil {
		h.Event(telemetry.Event{Kind: telemetry.KindSlowClient, Transport: transport, N: dropped})
	}
}
