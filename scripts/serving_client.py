"""Send a photo to a TF Serving deblur-tf model and save the restored PNG.

    python scripts/serving_client.py face.jpg -o restored.png                      # REST, port 8501
    python scripts/serving_client.py face.jpg -o restored.png --grpc localhost:8500  # gRPC

REST sends the encoded image as ``{"b64": ...}`` to the ``deblur_image_bytes`` signature, which
returns PNG bytes (``--pixels``: decoded uint8 pixels to ``serving_default``); gRPC needs ``pip install tensorflow-serving-api`` (it pulls in ``tensorflow``).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.request

SIGNATURE = "deblur_image_bytes"
INPUT, OUTPUT = "image_bytes", "png_bytes"
# --pixels: decoded uint8 pixels to the default signature (for clients that hold arrays).
PIXELS_SIGNATURE = "serving_default"
PIXELS_INPUT, PIXELS_OUTPUT = "images", "restored"


def rest_request(images: list[bytes], signature: str = SIGNATURE) -> dict:
    """The TF Serving REST 'instances' body for encoded images."""
    return {"signature_name": signature,
            "instances": [{INPUT: {"b64": base64.b64encode(data).decode("ascii")}} for data in images]}


def rest_request_pixels(images: list) -> dict:
    """The REST body for uint8 [H, W, 3] arrays (one size per request) to ``serving_default``."""
    return {"signature_name": PIXELS_SIGNATURE,
            "instances": [{PIXELS_INPUT: image.tolist()} for image in images]}


def rest_response_pixels(body: dict) -> list:
    import numpy as np
    return [np.asarray(p.get(PIXELS_OUTPUT, p) if isinstance(p, dict) else p, np.uint8)
            for p in body["predictions"]]


def predict_rest_pixels(server: str, model: str, data: bytes, timeout: float = 60) -> bytes:
    """Decode locally, send pixels, encode the answer as PNG (needs numpy and Pillow)."""
    import io

    import numpy as np
    from PIL import Image
    image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    request = urllib.request.Request(
        f"http://{server}/v1/models/{model}:predict", data=json.dumps(rest_request_pixels([image])).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        restored = rest_response_pixels(json.load(response))[0]
    out = io.BytesIO()
    Image.fromarray(restored).save(out, "PNG")
    return out.getvalue()


def rest_response_images(body: dict) -> list[bytes]:
    """PNG bytes from a REST predict response (TF Serving drops the output name when there is one)."""
    out = []
    for prediction in body["predictions"]:
        value = prediction.get(OUTPUT, prediction) if isinstance(prediction, dict) else prediction
        out.append(base64.b64decode(value["b64"]))
    return out


def predict_rest(server: str, model: str, images: list[bytes], timeout: float = 60) -> list[bytes]:
    request = urllib.request.Request(
        f"http://{server}/v1/models/{model}:predict", data=json.dumps(rest_request(images)).encode(),
        headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return rest_response_images(json.load(response))


def predict_grpc(server: str, model: str, images: list[bytes], timeout: float = 60) -> list[bytes]:
    import grpc
    import tensorflow as tf
    from tensorflow_serving.apis import predict_pb2, prediction_service_pb2_grpc

    stub = prediction_service_pb2_grpc.PredictionServiceStub(grpc.insecure_channel(server))
    request = predict_pb2.PredictRequest()
    request.model_spec.name = model
    request.model_spec.signature_name = SIGNATURE
    request.inputs[INPUT].CopyFrom(tf.make_tensor_proto(images, dtype=tf.string))
    return list(stub.Predict(request, timeout).outputs[OUTPUT].string_val)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("image")
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--model", default="deblur_tf")
    ap.add_argument("--rest", default="localhost:8501", help="host:port of the REST API")
    ap.add_argument("--grpc", default=None, help="host:port of the gRPC API (instead of REST)")
    ap.add_argument("--pixels", action="store_true",
                    help="REST: send decoded uint8 pixels to serving_default instead of the file's bytes")
    args = ap.parse_args()
    try:
        data = open(args.image, "rb").read()
        if args.pixels:
            png = predict_rest_pixels(args.rest, args.model, data)
        else:
            png = (predict_grpc(args.grpc, args.model, [data]) if args.grpc
                   else predict_rest(args.rest, args.model, [data]))[0]
    except OSError as e:
        print(f"error: {e}", file=sys.stderr)
        return 1
    with open(args.output, "wb") as f:
        f.write(png)
    print(f"wrote {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
