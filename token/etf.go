package token

import (
	"bytes"
	"compress/zlib"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
	"slices"
	"strings"
	"unicode/utf8"
)

// This file is a small codec for the Erlang External Term Format, the bytes
// :erlang.term_to_binary/1 produces and Plug.Crypto puts inside a token. It
// covers the terms a token's data is made of (binaries, integers, floats,
// atoms, lists, tuples and maps) and nothing else: no pids, references,
// funs, ports or bit strings. The doc.go "Payload" section maps each tag to
// its Go type.

// Atom is an Erlang or Elixir atom other than nil, true and false, which are
// Go's nil, true and false. Elixir's :admin is Atom("admin"); a map with atom
// keys, such as %{user_id: 42}, decodes to a map[Atom]any.
type Atom string

// Tuple is an Erlang or Elixir tuple: {:user, 42} is Tuple{Atom("user"), int64(42)}.
type Tuple []any

// External Term Format tags (erts/emulator/beam/external.h).
const (
	etfVersion       = 131
	tagCompressed    = 80  // 'P': uint32 uncompressed size, zlib stream
	tagNewFloat      = 70  // 'F': IEEE 754 float64, big-endian
	tagSmallInteger  = 97  // 'a': uint8
	tagInteger       = 98  // 'b': int32, big-endian
	tagAtom          = 100 // 'd': uint16 length, Latin-1 (deprecated, OTP ≤ 25 default)
	tagSmallTuple    = 104 // 'h': uint8 arity
	tagLargeTuple    = 105 // 'i': uint32 arity
	tagNil           = 106 // 'j': []
	tagString        = 107 // 'k': uint16 length, bytes: a list of integers 0..255
	tagList          = 108 // 'l': uint32 length, elements, tail
	tagBinary        = 109 // 'm': uint32 length, bytes
	tagSmallBig      = 110 // 'n': uint8 n, sign, n little-endian digit bytes
	tagLargeBig      = 111 // 'o': uint32 n, sign, n little-endian digit bytes
	tagSmallAtom     = 115 // 's': uint8 length, Latin-1 (deprecated)
	tagMap           = 116 // 't': uint32 arity, key/value pairs
	tagAtomUTF8      = 118 // 'v': uint16 length, UTF-8
	tagSmallAtomUTF8 = 119 // 'w': uint8 length, UTF-8 (OTP 26+ default)
)

const (
	// maxTermDepth bounds nesting, in both directions: it stops the decoder
	// from recursing on hostile input and the encoder on cyclic Go values.
	maxTermDepth = 100
	// maxInflated bounds the declared size of a compressed term (zip bombs).
	maxInflated = 1 << 20
	// maxAtomChars is Erlang's limit on the length of an atom.
	maxAtomChars = 255
)

var errTooDeep = fmt.Errorf("term nested deeper than %d", maxTermDepth)

// encodeTerm returns term_to_binary(v): the version byte and v's encoding.
// It produces the bytes OTP 26+ produces for the same term, except that map
// keys are in the order described at [Signer.Sign].
func encodeTerm(v any) ([]byte, error) {
	return appendValue([]byte{etfVersion}, v, 0)
}

func appendValue(b []byte, v any, depth int) ([]byte, error) {
	if depth > maxTermDepth {
		return nil, errTooDeep
	}
	if i, ok := asInt64(v); ok {
		return appendInt(b, i), nil
	}
	switch v := v.(type) {
	case nil:
		return appendAtom(b, "nil"), nil
	case bool:
		if v {
			return appendAtom(b, "true"), nil
		}
		return appendAtom(b, "false"), nil
	case Atom:
		if !utf8.ValidString(string(v)) || utf8.RuneCountInString(string(v)) > maxAtomChars {
			return nil, fmt.Errorf("atom %q is not valid UTF-8 of at most %d characters", v, maxAtomChars)
		}
		return appendAtom(b, string(v)), nil
	case string:
		return appendBinary(b, v)
	case []byte:
		return appendBinary(b, string(v))
	case float64:
		return appendFloat(b, v)
	case float32:
		return appendFloat(b, float64(v))
	case uint, uint64, uintptr:
		return nil, fmt.Errorf("integer %d does not fit in int64", v)
	case []any:
		return appendList(b, v, depth)
	case []string:
		return appendList(b, toAny(v), depth)
	case []int:
		return appendList(b, toAny(v), depth)
	case []int64:
		return appendList(b, toAny(v), depth)
	case Tuple:
		return appendTuple(b, v, depth)
	case map[string]any:
		return appendMap(b, v, strings.Compare, depth)
	case map[string]string:
		return appendMap(b, v, strings.Compare, depth)
	case map[Atom]any:
		return appendMap(b, v, func(x, y Atom) int { return strings.Compare(string(x), string(y)) }, depth)
	case map[any]any:
		for k := range v {
			if keyRank(k) < 0 {
				return nil, fmt.Errorf("unsupported map key type %T", k)
			}
		}
		return appendMap(b, v, compareKeys, depth)
	default:
		return nil, fmt.Errorf("unsupported type %T", v)
	}
}

func toAny[T any](s []T) []any {
	out := make([]any, len(s))
	for i, v := range s {
		out[i] = v
	}
	return out
}

// asInt64 reports v's value if v is a Go integer that fits in an int64.
func asInt64(v any) (int64, bool) {
	switch v := v.(type) {
	case int:
		return int64(v), true
	case int8:
		return int64(v), true
	case int16:
		return int64(v), true
	case int32:
		return int64(v), true
	case int64:
		return v, true
	case uint8:
		return int64(v), true
	case uint16:
		return int64(v), true
	case uint32:
		return int64(v), true
	case uint:
		if uint64(v) <= math.MaxInt64 {
			return int64(v), true
		}
	case uint64:
		if v <= math.MaxInt64 {
			return int64(v), true
		}
	case uintptr:
		if uint64(v) <= math.MaxInt64 {
			return int64(v), true
		}
	}
	return 0, false
}

// appendInt uses the smallest encoding, as Erlang does: SMALL_INTEGER_EXT
// for 0..255, INTEGER_EXT for int32, SMALL_BIG_EXT beyond.
func appendInt(b []byte, i int64) []byte {
	switch {
	case i >= 0 && i <= math.MaxUint8:
		return append(b, tagSmallInteger, byte(i))
	case i >= math.MinInt32 && i <= math.MaxInt32:
		return binary.BigEndian.AppendUint32(append(b, tagInteger), uint32(int32(i)))
	}
	sign, mag := byte(0), uint64(i)
	if i < 0 {
		sign, mag = 1, -uint64(i) // two's complement: correct for MinInt64 too
	}
	var digits [8]byte
	binary.LittleEndian.PutUint64(digits[:], mag)
	n := 8
	for digits[n-1] == 0 {
		n--
	}
	b = append(b, tagSmallBig, byte(n), sign)
	return append(b, digits[:n]...)
}

func appendFloat(b []byte, f float64) ([]byte, error) {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return nil, fmt.Errorf("float %v has no Erlang representation", f)
	}
	return binary.BigEndian.AppendUint64(append(b, tagNewFloat), math.Float64bits(f)), nil
}

func appendAtom(b []byte, s string) []byte {
	if len(s) <= math.MaxUint8 {
		b = append(b, tagSmallAtomUTF8, byte(len(s)))
	} else { // at most 255 characters, so at most 1020 bytes
		b = binary.BigEndian.AppendUint16(append(b, tagAtomUTF8), uint16(len(s)))
	}
	return append(b, s...)
}

func appendBinary(b []byte, s string) ([]byte, error) {
	if uint64(len(s)) > math.MaxUint32 {
		return nil, errors.New("binary longer than 4 GiB")
	}
	b = binary.BigEndian.AppendUint32(append(b, tagBinary), uint32(len(s)))
	return append(b, s...), nil
}

// appendList uses STRING_EXT for a list of 1..65535 integers in 0..255, as
// Erlang does (Elixir's charlists), and LIST_EXT with a [] tail otherwise.
func appendList(b []byte, l []any, depth int) ([]byte, error) {
	if len(l) == 0 {
		return append(b, tagNil), nil
	}
	if len(l) <= math.MaxUint16 && isByteList(l) {
		b = binary.BigEndian.AppendUint16(append(b, tagString), uint16(len(l)))
		for _, v := range l {
			i, _ := asInt64(v)
			b = append(b, byte(i))
		}
		return b, nil
	}
	if uint64(len(l)) > math.MaxUint32 {
		return nil, errors.New("list longer than 2^32-1 elements")
	}
	b = binary.BigEndian.AppendUint32(append(b, tagList), uint32(len(l)))
	var err error
	for _, v := range l {
		if b, err = appendValue(b, v, depth+1); err != nil {
			return nil, err
		}
	}
	return append(b, tagNil), nil
}

func isByteList(l []any) bool {
	for _, v := range l {
		if i, ok := asInt64(v); !ok || i < 0 || i > math.MaxUint8 {
			return false
		}
	}
	return true
}

func appendTuple(b []byte, t Tuple, depth int) ([]byte, error) {
	switch {
	case len(t) <= math.MaxUint8:
		b = append(b, tagSmallTuple, byte(len(t)))
	case uint64(len(t)) <= math.MaxUint32:
		b = binary.BigEndian.AppendUint32(append(b, tagLargeTuple), uint32(len(t)))
	default:
		return nil, errors.New("tuple larger than 2^32-1 elements")
	}
	var err error
	for _, v := range t {
		if b, err = appendValue(b, v, depth+1); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// appendMap writes the pairs sorted by cmp, so that equal maps give equal
// tokens. Erlang itself ignores the order of pairs when decoding.
func appendMap[K comparable, V any](b []byte, m map[K]V, cmp func(K, K) int, depth int) ([]byte, error) {
	if uint64(len(m)) > math.MaxUint32 {
		return nil, errors.New("map larger than 2^32-1 pairs")
	}
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp)
	for i := 1; i < len(keys); i++ {
		if cmp(keys[i-1], keys[i]) == 0 { // int(1) and int64(1), nil and Atom("nil")
			return nil, fmt.Errorf("map has two keys that encode to %v", keys[i])
		}
	}
	b = binary.BigEndian.AppendUint32(append(b, tagMap), uint32(len(m)))
	var err error
	for _, k := range keys {
		if b, err = appendValue(b, k, depth+1); err != nil {
			return nil, err
		}
		if b, err = appendValue(b, m[k], depth+1); err != nil {
			return nil, err
		}
	}
	return b, nil
}

// keyRank orders the key types a map[any]any may hold as Erlang's term order
// does (numbers < atoms < binaries), with integers before floats. It returns
// -1 for the types that are not allowed as keys.
func keyRank(k any) int {
	if _, ok := asInt64(k); ok {
		return 0
	}
	switch k := k.(type) {
	case float64:
		if math.IsNaN(k) || math.IsInf(k, 0) {
			return -1
		}
		return 1
	case nil, bool, Atom:
		return 2
	case string:
		return 3
	}
	return -1
}

// compareKeys is a total order over the keys keyRank accepts.
func compareKeys(x, y any) int {
	rx, ry := keyRank(x), keyRank(y)
	if rx != ry {
		return rx - ry
	}
	switch rx {
	case 0:
		i, _ := asInt64(x)
		j, _ := asInt64(y)
		return cmpOrdered(i, j)
	case 1:
		return cmpOrdered(x.(float64), y.(float64))
	case 2:
		return strings.Compare(atomText(x), atomText(y))
	}
	return strings.Compare(x.(string), y.(string))
}

func cmpOrdered[T int64 | float64](a, b T) int {
	switch {
	case a < b:
		return -1
	case a > b:
		return 1
	}
	return 0
}

func atomText(v any) string {
	switch v := v.(type) {
	case nil:
		return "nil"
	case bool:
		if v {
			return "true"
		}
		return "false"
	}
	return string(v.(Atom))
}

// decodeTerm is binary_to_term for the supported subset. It accepts a
// compressed term (term_to_binary(t, [:compressed])) and, like
// binary_to_term, ignores bytes after the term.
func decodeTerm(b []byte) (any, error) {
	if len(b) == 0 || b[0] != etfVersion {
		return nil, errors.New("missing version byte 131")
	}
	b = b[1:]
	if len(b) > 0 && b[0] == tagCompressed {
		var err error
		if b, err = inflate(b[1:]); err != nil {
			return nil, err
		}
	}
	d := decoder{b: b}
	return d.value(0)
}

func inflate(b []byte) ([]byte, error) {
	if len(b) < 4 {
		return nil, io.ErrUnexpectedEOF
	}
	size := binary.BigEndian.Uint32(b)
	if size > maxInflated {
		return nil, fmt.Errorf("compressed term of %d bytes exceeds %d", size, maxInflated)
	}
	zr, err := zlib.NewReader(bytes.NewReader(b[4:]))
	if err != nil {
		return nil, err
	}
	out := make([]byte, size)
	if _, err := io.ReadFull(zr, out); err != nil {
		return nil, fmt.Errorf("compressed term: %w", err)
	}
	if n, _ := zr.Read(make([]byte, 1)); n != 0 {
		return nil, errors.New("compressed term longer than its declared size")
	}
	return out, nil
}

type decoder struct {
	b []byte
}

func (d *decoder) take(n uint64) ([]byte, error) {
	if n > uint64(len(d.b)) {
		return nil, io.ErrUnexpectedEOF
	}
	p := d.b[:n]
	d.b = d.b[n:]
	return p, nil
}

func (d *decoder) uint(size int) (uint64, error) {
	p, err := d.take(uint64(size))
	if err != nil {
		return 0, err
	}
	switch size {
	case 1:
		return uint64(p[0]), nil
	case 2:
		return uint64(binary.BigEndian.Uint16(p)), nil
	}
	return uint64(binary.BigEndian.Uint32(p)), nil
}

// count reads a size-byte element count and checks that the rest of the
// input could hold that many elements of at least minSize bytes each, so
// that a hostile count cannot make the decoder allocate.
func (d *decoder) count(size int, minSize uint64) (int, error) {
	n, err := d.uint(size)
	if err != nil {
		return 0, err
	}
	if n*minSize > uint64(len(d.b)) {
		return 0, io.ErrUnexpectedEOF
	}
	return int(n), nil
}

func (d *decoder) value(depth int) (any, error) {
	if depth > maxTermDepth {
		return nil, errTooDeep
	}
	tag, err := d.uint(1)
	if err != nil {
		return nil, err
	}
	switch tag {
	case tagSmallInteger:
		n, err := d.uint(1)
		return int64(n), err
	case tagInteger:
		n, err := d.uint(4)
		return int64(int32(uint32(n))), err
	case tagSmallBig:
		n, err := d.uint(1)
		if err != nil {
			return nil, err
		}
		return d.big(n)
	case tagLargeBig:
		n, err := d.uint(4)
		if err != nil {
			return nil, err
		}
		return d.big(n)
	case tagNewFloat:
		p, err := d.take(8)
		if err != nil {
			return nil, err
		}
		f := math.Float64frombits(binary.BigEndian.Uint64(p))
		if math.IsNaN(f) || math.IsInf(f, 0) {
			return nil, errors.New("float is NaN or infinite")
		}
		return f, nil
	case tagAtom, tagSmallAtom, tagAtomUTF8, tagSmallAtomUTF8:
		return d.atom(tag)
	case tagBinary:
		n, err := d.uint(4)
		if err != nil {
			return nil, err
		}
		p, err := d.take(n)
		return string(p), err
	case tagNil:
		return []any{}, nil
	case tagString:
		n, err := d.uint(2)
		if err != nil {
			return nil, err
		}
		p, err := d.take(n)
		if err != nil {
			return nil, err
		}
		l := make([]any, len(p))
		for i, c := range p {
			l[i] = int64(c)
		}
		return l, nil
	case tagList:
		n, err := d.count(4, 1)
		if err != nil {
			return nil, err
		}
		l, err := d.values(n, depth)
		if err != nil {
			return nil, err
		}
		if tail, err := d.uint(1); err != nil || tail != tagNil {
			return nil, errors.New("improper list")
		}
		return l, nil
	case tagSmallTuple, tagLargeTuple:
		size := 1
		if tag == tagLargeTuple {
			size = 4
		}
		n, err := d.count(size, 1)
		if err != nil {
			return nil, err
		}
		t, err := d.values(n, depth)
		return Tuple(t), err
	case tagMap:
		return d.mapValue(depth)
	}
	return nil, fmt.Errorf("unsupported term tag %d", tag)
}

func (d *decoder) values(n, depth int) ([]any, error) {
	l := make([]any, n)
	for i := range l {
		v, err := d.value(depth + 1)
		if err != nil {
			return nil, err
		}
		l[i] = v
	}
	return l, nil
}

func (d *decoder) big(n uint64) (any, error) {
	sign, err := d.uint(1)
	if err != nil {
		return nil, err
	}
	digits, err := d.take(n)
	if err != nil {
		return nil, err
	}
	digits = bytes.TrimRight(digits, "\x00")
	if len(digits) > 8 {
		return nil, errors.New("integer does not fit in int64")
	}
	var buf [8]byte
	copy(buf[:], digits)
	mag := binary.LittleEndian.Uint64(buf[:])
	switch {
	case sign == 0 && mag <= math.MaxInt64:
		return int64(mag), nil
	case sign != 0 && mag <= 1<<63:
		return int64(-mag), nil // two's complement: correct for 1<<63 too
	}
	return nil, errors.New("integer does not fit in int64")
}

func (d *decoder) atom(tag uint64) (any, error) {
	size := 2
	if tag == tagSmallAtom || tag == tagSmallAtomUTF8 {
		size = 1
	}
	n, err := d.uint(size)
	if err != nil {
		return nil, err
	}
	p, err := d.take(n)
	if err != nil {
		return nil, err
	}
	var s string
	if tag == tagAtomUTF8 || tag == tagSmallAtomUTF8 {
		if !utf8.Valid(p) {
			return nil, errors.New("atom is not valid UTF-8")
		}
		s = string(p)
	} else { // Latin-1: each byte is the code point
		r := make([]rune, len(p))
		for i, c := range p {
			r[i] = rune(c)
		}
		s = string(r)
	}
	if utf8.RuneCountInString(s) > maxAtomChars {
		return nil, fmt.Errorf("atom longer than %d characters", maxAtomChars)
	}
	switch s {
	case "nil":
		return nil, nil
	case "true":
		return true, nil
	case "false":
		return false, nil
	}
	return Atom(s), nil
}

// mapValue decodes a map to map[string]any if every key is a binary, to
// map[Atom]any if every key is an atom other than nil, true and false, and
// to map[any]any otherwise, with keys limited to scalars.
func (d *decoder) mapValue(depth int) (any, error) {
	n, err := d.count(4, 2)
	if err != nil {
		return nil, err
	}
	kv, err := d.values(2*n, depth)
	if err != nil {
		return nil, err
	}
	allStrings, allAtoms := true, true
	for i := 0; i < len(kv); i += 2 {
		_, isString := kv[i].(string)
		_, isAtom := kv[i].(Atom)
		allStrings = allStrings && isString
		allAtoms = allAtoms && isAtom
		if keyRank(kv[i]) < 0 {
			return nil, fmt.Errorf("unsupported map key type %T", kv[i])
		}
	}
	var m any
	var size int
	switch {
	case allStrings:
		m, size = fillMap(kv, func(k any) string { return k.(string) })
	case allAtoms:
		m, size = fillMap(kv, func(k any) Atom { return k.(Atom) })
	default:
		m, size = fillMap(kv, func(k any) any { return k })
	}
	if size != n {
		return nil, errors.New("map has duplicate keys")
	}
	return m, nil
}

func fillMap[K comparable](kv []any, key func(any) K) (map[K]any, int) {
	m := make(map[K]any, len(kv)/2)
	for i := 0; i < len(kv); i += 2 {
		m[key(kv[i])] = kv[i+1]
	}
	return m, len(m)
}
