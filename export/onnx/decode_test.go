package onnx

// A protobuf decoder for the ONNX messages the exporter writes, written
// independently of the encoder (proto.go) from onnx.proto's field numbers,
// so that the tests read the bytes back the way another tool would. It is
// strict: an unknown field or a wrong wire type is an error.

import (
	"encoding/binary"
	"fmt"
	"math"
)

type pfield struct {
	num  int
	wire int
	v    uint64 // varint and fixed32 values
	b    []byte // length-delimited payload
}

func parseFields(b []byte) ([]pfield, error) {
	var fs []pfield
	for len(b) > 0 {
		key, n := binary.Uvarint(b)
		if n <= 0 {
			return nil, fmt.Errorf("bad field key")
		}
		b = b[n:]
		f := pfield{num: int(key >> 3), wire: int(key & 7)}
		if f.num == 0 {
			return nil, fmt.Errorf("field number 0")
		}
		switch f.wire {
		case 0:
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return nil, fmt.Errorf("field %d: bad varint", f.num)
			}
			f.v, b = v, b[n:]
		case 1:
			if len(b) < 8 {
				return nil, fmt.Errorf("field %d: truncated fixed64", f.num)
			}
			f.v, b = binary.LittleEndian.Uint64(b), b[8:]
		case 2:
			l, n := binary.Uvarint(b)
			if n <= 0 || uint64(len(b)-n) < l {
				return nil, fmt.Errorf("field %d: bad length", f.num)
			}
			f.b, b = b[n:n+int(l)], b[n+int(l):]
		case 5:
			if len(b) < 4 {
				return nil, fmt.Errorf("field %d: truncated fixed32", f.num)
			}
			f.v, b = uint64(binary.LittleEndian.Uint32(b)), b[4:]
		default:
			return nil, fmt.Errorf("field %d: unsupported wire type %d", f.num, f.wire)
		}
		fs = append(fs, f)
	}
	return fs, nil
}

// want checks a field's wire type.
func (f pfield) want(msg string, wire int) error {
	if f.wire != wire {
		return fmt.Errorf("%s field %d: wire type %d, want %d", msg, f.num, f.wire, wire)
	}
	return nil
}

// int64s reads a repeated int64 field, packed or not.
func (f pfield) int64s(msg string) ([]int64, error) {
	switch f.wire {
	case 0:
		return []int64{int64(f.v)}, nil
	case 2:
		var out []int64
		b := f.b
		for len(b) > 0 {
			v, n := binary.Uvarint(b)
			if n <= 0 {
				return nil, fmt.Errorf("%s field %d: bad packed varint", msg, f.num)
			}
			out, b = append(out, int64(v)), b[n:]
		}
		return out, nil
	}
	return nil, fmt.Errorf("%s field %d: wire type %d for a repeated int64", msg, f.num, f.wire)
}

type dModel struct {
	IRVersion       int64
	ProducerName    string
	ProducerVersion string
	Opsets          []dOpset
	Graph           *dGraph
}

type dOpset struct {
	Domain  string
	Version int64
}

type dGraph struct {
	Name    string
	Nodes   []dNode
	Init    []dTensor
	Inputs  []dValue
	Outputs []dValue
}

type dNode struct {
	Inputs, Outputs  []string
	Name, Op, Domain string
	Attrs            []dAttr
}

type dAttr struct {
	Name string
	Type int64
	F    float32
	I    int64
	Ints []int64
	HasF bool
	HasI bool
}

type dTensor struct {
	Name     string
	Dims     []int64
	DataType int64
	Raw      []byte
}

// Floats returns the raw data as little-endian float32s.
func (t dTensor) Floats() []float32 {
	out := make([]float32, len(t.Raw)/4)
	for i := range out {
		out[i] = math.Float32frombits(binary.LittleEndian.Uint32(t.Raw[4*i:]))
	}
	return out
}

type dValue struct {
	Name     string
	ElemType int64
	Dims     []dDim
	HasShape bool
}

type dDim struct {
	Value    int64
	Param    string
	HasValue bool
}

func decodeModel(b []byte) (*dModel, error) {
	fs, err := parseFields(b)
	if err != nil {
		return nil, fmt.Errorf("ModelProto: %w", err)
	}
	m := &dModel{}
	for _, f := range fs {
		var err error
		switch f.num {
		case 1: // ir_version
			if err = f.want("ModelProto", 0); err == nil {
				m.IRVersion = int64(f.v)
			}
		case 2: // producer_name
			if err = f.want("ModelProto", 2); err == nil {
				m.ProducerName = string(f.b)
			}
		case 3: // producer_version
			if err = f.want("ModelProto", 2); err == nil {
				m.ProducerVersion = string(f.b)
			}
		case 7: // graph
			if err = f.want("ModelProto", 2); err == nil {
				if m.Graph != nil {
					return nil, fmt.Errorf("ModelProto: two graphs")
				}
				m.Graph, err = decodeGraph(f.b)
			}
		case 8: // opset_import
			if err = f.want("ModelProto", 2); err == nil {
				var o dOpset
				o, err = decodeOpset(f.b)
				m.Opsets = append(m.Opsets, o)
			}
		default:
			err = fmt.Errorf("ModelProto: unexpected field %d", f.num)
		}
		if err != nil {
			return nil, err
		}
	}
	if m.Graph == nil {
		return nil, fmt.Errorf("ModelProto: no graph")
	}
	return m, nil
}

func decodeOpset(b []byte) (dOpset, error) {
	var o dOpset
	fs, err := parseFields(b)
	if err != nil {
		return o, fmt.Errorf("OperatorSetIdProto: %w", err)
	}
	for _, f := range fs {
		switch {
		case f.num == 1 && f.wire == 2:
			o.Domain = string(f.b)
		case f.num == 2 && f.wire == 0:
			o.Version = int64(f.v)
		default:
			return o, fmt.Errorf("OperatorSetIdProto: unexpected field %d (wire %d)", f.num, f.wire)
		}
	}
	return o, nil
}

func decodeGraph(b []byte) (*dGraph, error) {
	fs, err := parseFields(b)
	if err != nil {
		return nil, fmt.Errorf("GraphProto: %w", err)
	}
	g := &dGraph{}
	for _, f := range fs {
		if err := f.want("GraphProto", 2); err != nil {
			return nil, err
		}
		switch f.num {
		case 1:
			n, err := decodeNode(f.b)
			if err != nil {
				return nil, err
			}
			g.Nodes = append(g.Nodes, n)
		case 2:
			g.Name = string(f.b)
		case 5:
			t, err := decodeTensor(f.b)
			if err != nil {
				return nil, err
			}
			g.Init = append(g.Init, t)
		case 11, 12:
			v, err := decodeValue(f.b)
			if err != nil {
				return nil, err
			}
			if f.num == 11 {
				g.Inputs = append(g.Inputs, v)
			} else {
				g.Outputs = append(g.Outputs, v)
			}
		default:
			return nil, fmt.Errorf("GraphProto: unexpected field %d", f.num)
		}
	}
	return g, nil
}

func decodeNode(b []byte) (dNode, error) {
	var n dNode
	fs, err := parseFields(b)
	if err != nil {
		return n, fmt.Errorf("NodeProto: %w", err)
	}
	for _, f := range fs {
		if err := f.want("NodeProto", 2); err != nil {
			return n, err
		}
		switch f.num {
		case 1:
			n.Inputs = append(n.Inputs, string(f.b))
		case 2:
			n.Outputs = append(n.Outputs, string(f.b))
		case 3:
			n.Name = string(f.b)
		case 4:
			n.Op = string(f.b)
		case 7:
			n.Domain = string(f.b)
		case 5:
			a, err := decodeAttr(f.b)
			if err != nil {
				return n, err
			}
			n.Attrs = append(n.Attrs, a)
		default:
			return n, fmt.Errorf("NodeProto: unexpected field %d", f.num)
		}
	}
	return n, nil
}

func decodeAttr(b []byte) (dAttr, error) {
	var a dAttr
	fs, err := parseFields(b)
	if err != nil {
		return a, fmt.Errorf("AttributeProto: %w", err)
	}
	for _, f := range fs {
		var err error
		switch f.num {
		case 1:
			if err = f.want("AttributeProto", 2); err == nil {
				a.Name = string(f.b)
			}
		case 2:
			if err = f.want("AttributeProto", 5); err == nil {
				a.F, a.HasF = math.Float32frombits(uint32(f.v)), true
			}
		case 3:
			if err = f.want("AttributeProto", 0); err == nil {
				a.I, a.HasI = int64(f.v), true
			}
		case 8:
			var v []int64
			v, err = f.int64s("AttributeProto")
			a.Ints = append(a.Ints, v...)
		case 20:
			if err = f.want("AttributeProto", 0); err == nil {
				a.Type = int64(f.v)
			}
		default:
			err = fmt.Errorf("AttributeProto: unexpected field %d", f.num)
		}
		if err != nil {
			return a, err
		}
	}
	return a, nil
}

func decodeTensor(b []byte) (dTensor, error) {
	var t dTensor
	fs, err := parseFields(b)
	if err != nil {
		return t, fmt.Errorf("TensorProto: %w", err)
	}
	for _, f := range fs {
		var err error
		switch f.num {
		case 1:
			var v []int64
			v, err = f.int64s("TensorProto")
			t.Dims = append(t.Dims, v...)
		case 2:
			if err = f.want("TensorProto", 0); err == nil {
				t.DataType = int64(f.v)
			}
		case 8:
			if err = f.want("TensorProto", 2); err == nil {
				t.Name = string(f.b)
			}
		case 9:
			if err = f.want("TensorProto", 2); err == nil {
				t.Raw = f.b
			}
		default:
			err = fmt.Errorf("TensorProto: unexpected field %d", f.num)
		}
		if err != nil {
			return t, err
		}
	}
	return t, nil
}

func decodeValue(b []byte) (dValue, error) {
	var v dValue
	fs, err := parseFields(b)
	if err != nil {
		return v, fmt.Errorf("ValueInfoProto: %w", err)
	}
	for _, f := range fs {
		if err := f.want("ValueInfoProto", 2); err != nil {
			return v, err
		}
		switch f.num {
		case 1:
			v.Name = string(f.b)
		case 2: // TypeProto
			tfs, err := parseFields(f.b)
			if err != nil {
				return v, fmt.Errorf("TypeProto: %w", err)
			}
			for _, tf := range tfs {
				if tf.num != 1 || tf.wire != 2 {
					return v, fmt.Errorf("TypeProto: unexpected field %d (only tensor_type)", tf.num)
				}
				if err := decodeTensorType(tf.b, &v); err != nil {
					return v, err
				}
			}
		default:
			return v, fmt.Errorf("ValueInfoProto: unexpected field %d", f.num)
		}
	}
	return v, nil
}

func decodeTensorType(b []byte, v *dValue) error {
	fs, err := parseFields(b)
	if err != nil {
		return fmt.Errorf("TypeProto.Tensor: %w", err)
	}
	for _, f := range fs {
		switch {
		case f.num == 1 && f.wire == 0:
			v.ElemType = int64(f.v)
		case f.num == 2 && f.wire == 2: // TensorShapeProto
			v.HasShape = true
			sfs, err := parseFields(f.b)
			if err != nil {
				return fmt.Errorf("TensorShapeProto: %w", err)
			}
			for _, sf := range sfs {
				if sf.num != 1 || sf.wire != 2 {
					return fmt.Errorf("TensorShapeProto: unexpected field %d", sf.num)
				}
				dfs, err := parseFields(sf.b)
				if err != nil {
					return fmt.Errorf("Dimension: %w", err)
				}
				var d dDim
				for _, df := range dfs {
					switch {
					case df.num == 1 && df.wire == 0:
						d.Value, d.HasValue = int64(df.v), true
					case df.num == 2 && df.wire == 2:
						d.Param = string(df.b)
					default:
						return fmt.Errorf("Dimension: unexpected field %d", df.num)
					}
				}
				if d.HasValue == (d.Param != "") {
					return fmt.Errorf("Dimension: want exactly one of dim_value and dim_param")
				}
				v.Dims = append(v.Dims, d)
			}
		default:
			return fmt.Errorf("TypeProto.Tensor: unexpected field %d (wire %d)", f.num, f.wire)
		}
	}
	return nil
}
