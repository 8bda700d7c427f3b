package dataflow

import (
	"bytes"
	"image"
	_ "image/gif" // decoders for image.Decode
	_ "image/jpeg"
	"image/png"
	"strings"

	"golang.org/x/image/draw"
)

// maxImagePixels bounds the images the image functions decode: a small file may claim a huge
// size (a decompression bomb), and such an image gets NULL rather than the memory.
const maxImagePixels = 50_000_000

// imageConfig reads the size and format of an image without decoding its pixels; ok is false
// for bytes that are not a PNG, JPEG or GIF image (or are too large).
func imageConfig(b string) (image.Config, string, bool) {
	cfg, format, err := image.DecodeConfig(strings.NewReader(b))
	if err != nil || cfg.Width <= 0 || cfg.Height <= 0 || int64(cfg.Width)*int64(cfg.Height) > maxImagePixels {
		return image.Config{}, "", false
	}
	return cfg, format, true
}

// Thumbnail scales an image down to fit in maxPx by maxPx (keeping its aspect ratio; a
// smaller image keeps its size) and encodes it as PNG. ok is false for bytes that are not an
// image the functions read.
func Thumbnail(b []byte, maxPx int) ([]byte, bool) {
	cfg, _, ok := imageConfig(string(b))
	if !ok || maxPx <= 0 {
		return nil, false
	}
	src, _, err := image.Decode(bytes.NewReader(b))
	if err != nil {
		return nil, false
	}
	w, h := cfg.Width, cfg.Height
	if w > maxPx || h > maxPx {
		if w >= h {
			w, h = maxPx, max(1, h*maxPx/cfg.Width)
		} else {
			w, h = max(1, w*maxPx/cfg.Height), maxPx
		}
	}
	dst := image.NewRGBA(image.Rect(0, 0, w, h))
	draw.ApproxBiLinear.Scale(dst, dst.Bounds(), src, src.Bounds(), draw.Src, nil)
	var out bytes.Buffer
	if err := png.Encode(&out, dst); err != nil {
		return nil, false
	}
	return out.Bytes(), true
}

func init() {
	dims := func(name string, args []Expr) (Expr, error) {
		return &funcExpr{name: name, args: args, kind: KindInt, strict: true, f1: func(a Datum) (Datum, error) {
			cfg, _, ok := imageConfig(a.s)
			if !ok {
				return Null, nil
			}
			if name == "image_width" {
				return NewInt(int64(cfg.Width)), nil
			}
			return NewInt(int64(cfg.Height)), nil
		}}, nil
	}
	register(funcBuilder{1, 1, dims}, "IMAGE_WIDTH", "IMAGE_HEIGHT")
	register(funcBuilder{1, 1, func(name string, args []Expr) (Expr, error) {
		return &funcExpr{name: name, args: args, kind: KindString, strict: true, f1: func(a Datum) (Datum, error) {
			if _, format, ok := imageConfig(a.s); ok {
				return NewString(format), nil
			}
			return Null, nil
		}}, nil
	}}, "IMAGE_FORMAT")
	register(funcBuilder{2, 2, func(name string, args []Expr) (Expr, error) {
		return &funcExpr{name: name, args: args, kind: KindBytes, strict: true, f2: func(a, n Datum) (Datum, error) {
			if n.k != KindInt {
				return Null, nil
			}
			thumb, ok := Thumbnail([]byte(a.s), int(min(n.Int(), 1<<16)))
			if !ok {
				return Null, nil
			}
			return NewBytes(thumb), nil
		}}, nil
	}}, "IMAGE_THUMBNAIL")
}
