package suzaku_test

import "github.com/suzaku-go/suzaku/transport"

func transportWithBadOrigin() transport.WebSocketConfig {
	return transport.WebSocketConfig{AllowedOrigins: []string{"http://"}}
}
