"""Send a photo to a TF Serving deblur-tf model and save the restored PNG.

    python scripts/serving_client.py face.jpg -o restored.png                      # REST, port 8501
    python scripts/serving_client.py face.jpg -o restored.png --grpc localhost:8500  # gRPC

REST sends the encoded image as ``{"b64": ...}`` to the ``deblur_image_bytes`` signature, which
returns PNG bytes; gRPC needs ``pip install tensorflow-serving-api`` (it pulls in ``tensorflow``).
"""

from __future__ import annotations

import argparse
import base64
import json
import sys
import urllib.request

SIGNATURE = "deblur_image_bytes"
INPUT, OUTPUT = "image_bytes", "png_bytes"


def rest_request(images: list[bytes], signature: str = SIGNATURE) -> dict:
    """The TF Serving REST 'instances' body for encoded images."""
    return {"signature_name": signature,
            "instances": [{INPUT: {"b64": base64.b64encode(data).decode("ascii")}} for data in images]}


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
    args = ap.parse_args()
    try:
        data = open(args.image, "rb").read()
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
