package dataflow

import (
	"bytes"
	"image"
	"image/color"
	"image/jpeg"
	"image/png"
	"testing"
)

// testImage encodes a w x h image as PNG or JPEG.
func testImage(t *testing.T, w, h int, format string) []byte {
	t.Helper()
	img := image.NewRGBA(image.Rect(0, 0, w, h))
	for y := 0; y < h; y++ {
		for x := 0; x < w; x++ {
			img.Set(x, y, color.RGBA{uint8(x), uint8(y), 128, 255})
		}
	}
	var b bytes.Buffer
	var err error
	if format == "png" {
		err = png.Encode(&b, img)
	} else {
		err = jpeg.Encode(&b, img, nil)
	}
	if err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func evalFunc(t *testing.T, name string, args ...Datum) Datum {
	t.Helper()
	exprs := make([]Expr, len(args))
	for i, a := range args {
		exprs[i] = Lit(a)
	}
	e, err := Func(name, exprs)
	if err != nil {
		t.Fatal(err)
	}
	d, err := e.Eval(nil)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

func TestImageFunctions(t *testing.T) {
	pngImg := NewBytes(testImage(t, 200, 100, "png"))
	jpgImg := NewBytes(testImage(t, 60, 120, "jpeg"))
	for _, c := range []struct {
		name string
		args []Datum
		want string
	}{
		{"image_width", []Datum{pngImg}, "200"},
		{"image_height", []Datum{pngImg}, "100"},
		{"image_format", []Datum{pngImg}, "png"},
		{"image_width", []Datum{jpgImg}, "60"},
		{"image_format", []Datum{jpgImg}, "jpeg"},
		{"image_width", []Datum{NewBytes([]byte("not an image"))}, "NULL"},
		{"image_format", []Datum{NewString("hello")}, "NULL"},
		{"image_height", []Datum{Null}, "NULL"},
		{"image_thumbnail", []Datum{NewBytes([]byte("nope")), NewInt(10)}, "NULL"},
		{"image_thumbnail", []Datum{pngImg, NewInt(0)}, "NULL"},
		{"image_thumbnail", []Datum{pngImg, Null}, "NULL"},
	} {
		if got := evalFunc(t, c.name, c.args...).String(); got != c.want {
			t.Errorf("%s: %s, want %s", c.name, got, c.want)
		}
	}
	// Thumbnails keep the aspect ratio, fit in the box, are PNG, and are the same every time.
	for _, c := range []struct {
		img       Datum
		max, w, h int64
	}{{pngImg, 50, 50, 25}, {jpgImg, 30, 15, 30}, {pngImg, 500, 200, 100}} {
		thumb := evalFunc(t, "image_thumbnail", c.img, NewInt(c.max))
		if thumb.Kind() != KindBytes {
			t.Fatalf("thumbnail kind %v", thumb.Kind())
		}
		if w, h, f := evalFunc(t, "image_width", thumb), evalFunc(t, "image_height", thumb), evalFunc(t, "image_format", thumb); w.Int() != c.w || h.Int() != c.h || f.Str() != "png" {
			t.Errorf("thumbnail(%d) is %v x %v %v, want %d x %d png", c.max, w, h, f, c.w, c.h)
		}
		if again := evalFunc(t, "image_thumbnail", c.img, NewInt(c.max)); again.Str() != thumb.Str() {
			t.Error("thumbnails differ between two evaluations")
		}
	}
}
