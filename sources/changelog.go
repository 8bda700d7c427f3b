package sources

import (
	"fmt"
	"unicode/utf8"

	"github.com/cdc-dev/cdc/dataflow"
	"github.com/cdc-dev/cdc/proto/changelogpb"
	"vitess.io/vitess/go/mysql/decimal"
)

// EncodeRow converts a row to its change-log form; a nil row becomes nil (an absent image).
func EncodeRow(r dataflow.Row) *changelogpb.Row {
	if r == nil {
		return nil
	}
	vals := make([]changelogpb.Value, len(r))
	out := &changelogpb.Row{Values: make([]*changelogpb.Value, len(r))}
	for i, d := range r {
		v := &vals[i]
		switch d.Kind() {
		case dataflow.KindNull:
			v.Kind = &changelogpb.Value_Null{Null: true}
		case dataflow.KindInt:
			v.Kind = &changelogpb.Value_Int64{Int64: d.Int()}
		case dataflow.KindFloat:
			v.Kind = &changelogpb.Value_Double{Double: d.Float()}
		case dataflow.KindDecimal:
			v.Kind = &changelogpb.Value_Decimal{Decimal: d.Str()}
		case dataflow.KindString:
			if utf8.ValidString(d.Str()) {
				v.Kind = &changelogpb.Value_Text{Text: d.Str()}
			} else {
				v.Kind = &changelogpb.Value_TextRaw{TextRaw: []byte(d.Str())}
			}
		case dataflow.KindBytes:
			v.Kind = &changelogpb.Value_Blob{Blob: []byte(d.Str())}
		case dataflow.KindTime:
			v.Kind = &changelogpb.Value_DatetimeMicros{DatetimeMicros: d.TimeMicros()}
		default:
			panic(fmt.Sprintf("sources: EncodeRow of unknown kind %d", d.Kind()))
		}
		out.Values[i] = v
	}
	return out
}

// DecodeRow converts a change-log row back to a row; nil decodes to nil, a value with no kind
// set to NULL, and an unparsable decimal is an error.
func DecodeRow(pr *changelogpb.Row) (dataflow.Row, error) {
	if pr == nil {
		return nil, nil
	}
	r := make(dataflow.Row, len(pr.Values))
	for i, v := range pr.Values {
		switch k := v.GetKind().(type) {
		case nil, *changelogpb.Value_Null:
			r[i] = dataflow.Null
		case *changelogpb.Value_Int64:
			r[i] = dataflow.NewInt(k.Int64)
		case *changelogpb.Value_Double:
			r[i] = dataflow.NewFloat(k.Double)
		case *changelogpb.Value_Decimal:
			d, err := decimalDatum(k.Decimal)
			if err != nil {
				return nil, fmt.Errorf("decode row: column %d: %w", i, err)
			}
			r[i] = d
		case *changelogpb.Value_Text:
			r[i] = dataflow.NewString(k.Text)
		case *changelogpb.Value_TextRaw:
			r[i] = dataflow.NewString(string(k.TextRaw))
		case *changelogpb.Value_Blob:
			r[i] = dataflow.NewBytes(k.Blob)
		case *changelogpb.Value_DatetimeMicros:
			r[i] = dataflow.NewTimeMicros(k.DatetimeMicros)
		default:
			return nil, fmt.Errorf("decode row: column %d: unknown value kind %T", i, k)
		}
	}
	return r, nil
}

// decimalDatum returns the DECIMAL datum whose text is exactly text.
//
// dataflow.NewDecimal re-renders its argument and drops trailing zeros ("1.50" -> "1.5"), so
// a text it would not produce is rebuilt through the key encoding, which keeps a decimal's
// text verbatim: the body of a zero decimal is the escaped text, as for a string.
func decimalDatum(text string) (dataflow.Datum, error) {
	v, err := decimal.NewFromString(text)
	if err != nil {
		return dataflow.Null, fmt.Errorf("invalid decimal %q", text)
	}
	if d := dataflow.NewDecimal(v); d.Str() == text {
		return d, nil
	}
	zeroTag := dataflow.AppendKey(nil, dataflow.NewDecimal(decimal.Zero))[0]
	enc := dataflow.AppendKey([]byte{zeroTag}, dataflow.NewString(text))
	enc = append(enc[:1], enc[2:]...) // drop the string tag, keep its body
	d, rest, err := dataflow.DecodeKey(enc)
	if err != nil || len(rest) != 0 || d.Kind() != dataflow.KindDecimal || d.Str() != text {
		return dataflow.Null, fmt.Errorf("cannot represent decimal text %q", text)
	}
	return d, nil
}
