// Package wire is the Phoenix Channels message envelope and its serializers.
//
// A [Message] is the five-part envelope [join_ref, ref, topic, event, payload]
// that every frame carries, plus the reply status and whether the payload is
// JSON text or raw bytes. A [Serializer] turns messages into transport
// [Frame]s and back, in both directions: the server side ([Serializer.Decode]
// for frames clients send, [Serializer.Encode] for frames servers send) and
// the client side ([Serializer.EncodeClient], [Serializer.DecodeServer]),
// which the Go client uses and which lets tests check one against the other.
//
// # Serializers
//
// [V2] is what the phoenix npm client speaks (vsn=2.0.0): JSON arrays in text
// frames, and a compact binary layout for binary payloads. [V1] is the older
// JSON object form (vsn absent or 1.x), with no binary support.
// [Negotiate] picks one from the vsn query parameter, as Phoenix does.
//
// Refs (join_ref and ref) are opaque strings chosen by the client and echoed
// back exactly; the empty string stands for JSON null.
//
// # Encoding once
//
// Encoders build each frame in one exactly sized allocation and never keep
// or share the message's memory, so a broadcast is encoded once per
// serializer and the same [Frame] written to every subscriber. Payloads are
// copied verbatim, not re-validated: a JSON payload must be valid JSON.
// Decoders copy what they keep, so a transport may reuse its read buffer.
//
// # Errors
//
// Every error a serializer returns is an [*Error]. Decode errors wrap
// [ErrMalformed]: the peer sent a bad frame, and a server closes the
// connection (Phoenix uses close code 1011). Encode errors wrap
// [ErrUnencodable]: the message itself is wrong, such as a binary frame's
// topic longer than 255 bytes. [Negotiate] returns errors wrapping
// [ErrUnsupportedVersion].
//
// The package imports only the standard library.
package wire
