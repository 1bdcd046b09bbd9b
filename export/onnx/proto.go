package onnx

import (
	"encoding/binary"
	"math"
)

// This file is a minimal protocol-buffers writer for the part of onnx.proto
// the exporter uses. Field numbers are those of the official onnx.proto
// (https://github.com/onnx/onnx/blob/main/onnx/onnx.proto). Fields are
// written in increasing field-number order, and repeated scalars unpacked
// (onnx.proto is proto2 and declares them without [packed = true]), as
// protobuf's own serialisers do; the output depends only on the model.

// Wire types.
const (
	wireVarint  = 0
	wireBytes   = 2
	wireFixed32 = 5
)

// ONNX enum values.
const (
	tensorFloat = 1 // TensorProto.DataType FLOAT
	tensorInt64 = 7 // TensorProto.DataType INT64

	attrFloat = 1 // AttributeProto.AttributeType FLOAT
	attrInt   = 2 // AttributeProto.AttributeType INT
	attrInts  = 7 // AttributeProto.AttributeType INTS
)

// pbuf accumulates one encoded message.
type pbuf struct{ b []byte }

func (p *pbuf) varint(v uint64) { p.b = binary.AppendUvarint(p.b, v) }

func (p *pbuf) tag(field, wire int) { p.varint(uint64(field)<<3 | uint64(wire)) }

// int64 writes an int64 (or int32, or enum) field; negative values take ten
// bytes, two's complement, as protobuf specifies.
func (p *pbuf) int64(field int, v int64) {
	p.tag(field, wireVarint)
	p.varint(uint64(v))
}

func (p *pbuf) float32(field int, v float32) {
	p.tag(field, wireFixed32)
	p.b = binary.LittleEndian.AppendUint32(p.b, math.Float32bits(v))
}

func (p *pbuf) bytes(field int, v []byte) {
	p.tag(field, wireBytes)
	p.varint(uint64(len(v)))
	p.b = append(p.b, v...)
}

func (p *pbuf) string(field int, v string) {
	p.tag(field, wireBytes)
	p.varint(uint64(len(v)))
	p.b = append(p.b, v...)
}

// message writes a nested message built by fill.
func (p *pbuf) message(field int, fill func(*pbuf)) {
	var sub pbuf
	fill(&sub)
	p.bytes(field, sub.b)
}

// The model, in the shape of onnx.proto's messages.

type model struct {
	irVersion       int64
	producerName    string
	producerVersion string
	graph           graph
	opset           int64 // of the default domain ""
}

type graph struct {
	name        string
	nodes       []node
	initializer []tensorProto
	inputs      []valueInfo
	outputs     []valueInfo
}

type node struct {
	inputs, outputs []string
	name, opType    string
	attrs           []attribute
}

type attribute struct {
	name string
	typ  int64 // attrFloat, attrInt or attrInts
	f    float32
	i    int64
	ints []int64
}

type tensorProto struct {
	name string
	dims []int64
	data []float32 // FLOAT, row-major
	i64  []int64   // INT64 instead of FLOAT when not nil (shapes)
}

// dim is one dimension of a value's shape: a size, or a symbolic name.
type dim struct {
	value int64
	param string // symbolic when not ""
}

type valueInfo struct {
	name string
	dims []dim // elem_type FLOAT
}

// encode returns the ModelProto's bytes.
func (m *model) encode() []byte {
	var p pbuf
	p.int64(1, m.irVersion)     // ir_version
	p.string(2, m.producerName) // producer_name
	if m.producerVersion != "" {
		p.string(3, m.producerVersion) // producer_version
	}
	p.message(7, m.graph.encode) // graph
	p.message(8, func(q *pbuf) { // opset_import: OperatorSetIdProto
		q.string(1, "")     // domain: the default ONNX domain
		q.int64(2, m.opset) // version
	})
	return p.b
}

func (g *graph) encode(p *pbuf) {
	for i := range g.nodes {
		p.message(1, g.nodes[i].encode) // node
	}
	p.string(2, g.name) // name
	for i := range g.initializer {
		p.message(5, g.initializer[i].encode) // initializer
	}
	for i := range g.inputs {
		p.message(11, g.inputs[i].encode) // input
	}
	for i := range g.outputs {
		p.message(12, g.outputs[i].encode) // output
	}
}

func (n *node) encode(p *pbuf) {
	for _, s := range n.inputs {
		p.string(1, s) // input
	}
	for _, s := range n.outputs {
		p.string(2, s) // output
	}
	p.string(3, n.name)   // name
	p.string(4, n.opType) // op_type
	for i := range n.attrs {
		p.message(5, n.attrs[i].encode) // attribute
	}
}

func (a *attribute) encode(p *pbuf) {
	p.string(1, a.name) // name
	switch a.typ {
	case attrFloat:
		p.float32(2, a.f) // f
	case attrInt:
		p.int64(3, a.i) // i
	case attrInts:
		for _, v := range a.ints {
			p.int64(8, v) // ints
		}
	}
	p.int64(20, a.typ) // type
}

func (t *tensorProto) encode(p *pbuf) {
	for _, d := range t.dims {
		p.int64(1, d) // dims
	}
	if t.i64 != nil {
		p.int64(2, tensorInt64) // data_type
		p.string(8, t.name)     // name
		raw := make([]byte, 0, 8*len(t.i64))
		for _, v := range t.i64 {
			raw = binary.LittleEndian.AppendUint64(raw, uint64(v))
		}
		p.bytes(9, raw) // raw_data: little-endian
		return
	}
	p.int64(2, tensorFloat) // data_type
	p.string(8, t.name)     // name
	raw := make([]byte, 0, 4*len(t.data))
	for _, v := range t.data {
		raw = binary.LittleEndian.AppendUint32(raw, math.Float32bits(v))
	}
	p.bytes(9, raw) // raw_data: little-endian IEEE 754
}

func (v *valueInfo) encode(p *pbuf) {
	p.string(1, v.name)          // name
	p.message(2, func(q *pbuf) { // type: TypeProto
		q.message(1, func(r *pbuf) { // tensor_type: TypeProto.Tensor
			r.int64(1, tensorFloat)      // elem_type
			r.message(2, func(s *pbuf) { // shape: TensorShapeProto
				for _, d := range v.dims {
					s.message(1, func(t *pbuf) { // dim
						if d.param != "" {
							t.string(2, d.param) // dim_param
						} else {
							t.int64(1, d.value) // dim_value
						}
					})
				}
			})
		})
	})
}
