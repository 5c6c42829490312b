"""The web page against the CLI: seconds to restore one photo, in one run on the same photo.

The photo is a 1024x768 collage of four public-domain portraits (see ``bench_faces.py``) with
camera-shake blur, saved as JPEG. Three timings, each the median of ``--repeats``:

- ``cli_command``: ``deblur-tf deblur photo.jpg -o out.png`` as a user runs it (a new process:
  TensorFlow import and model load included);
- ``cli_work``: what that command spends on the photo — ``load_image`` + ``Deblurrer.restore`` +
  ``write_image`` in a warm process (the same calls the command makes);
- ``page``: in headless Chromium, from the click on Restore until the download button shows the
  result (upload already done; the page's model is loaded once when the server starts, so a
  fresh page per repeat measures what a user waits for).

    python scripts/bench_app.py --out scripts/results/bench_app.json
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_faces import blur, collage  # noqa: E402
from bench_report import write_report  # noqa: E402

CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking",
                 "--disable-component-update", "--disable-sync", "--no-first-run"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--faces", type=int, default=4)
    ap.add_argument("--kernel-size", type=int, default=11)
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--chromium", default="/usr/bin/chromium")
    ap.add_argument("--out", default="scripts/results/bench_app.json")
    args = ap.parse_args()

    work = Path(tempfile.mkdtemp(prefix="bench_app_"))
    os.environ["GRADIO_TEMP_DIR"] = str(work / "gradio")
    from deblur_tf import app as A
    from deblur_tf.io import load_image, write_image
    photo_path = work / "photo.jpg"
    write_image(photo_path, blur(collage(args.faces), args.kernel_size))

    # The page, served from this process with the shipped models.
    deblurrer, inpainter, dpath, ipath, label = A.load_models(None, None)
    demo = A.build_app(deblurrer, inpainter, workdir=work, deblur_model=dpath, inpaint_model=ipath,
                       inpaint_label=label)
    port = free_port()
    demo.launch(server_name="127.0.0.1", server_port=port, prevent_thread_lock=True, quiet=True,
                ssr_mode=False, footer_links=[])

    # Warm-up for the in-process timings (graph tracing, MTCNN build), as the page's first user pays.
    image = load_image(photo_path)
    restored, faces = deblurrer.restore(image)

    def cli_work():
        t = time.perf_counter()
        im = load_image(photo_path)
        out, _ = deblurrer.restore(im)
        write_image(work / "work_out.png", out)
        return time.perf_counter() - t

    def cli_command(i):
        t = time.perf_counter()
        subprocess.run(["deblur-tf", "deblur", str(photo_path), "-o", str(work / f"cli_{i}.png")],
                       check=True, capture_output=True)
        return time.perf_counter() - t

    from playwright.sync_api import expect, sync_playwright
    page_times, work_times, command_times = [], [], []
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=args.chromium, args=CHROMIUM_ARGS)

        def page_run():
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.goto(f"http://127.0.0.1:{port}")
            page.locator("#restore-files input[type=file]").set_input_files(str(photo_path))
            expect(page.locator("#restore-files")).to_contain_text("KB")  # the upload is done
            t = time.perf_counter()
            page.click("#restore-run")
            page.locator("#restore-download").wait_for(state="visible", timeout=300_000)
            seconds = time.perf_counter() - t
            status = page.locator("#restore-status").inner_text()
            page.close()
            return seconds, status

        page_run()  # the page's own first-time costs (Gradio's front end in this browser)
        for i in range(args.repeats):  # interleaved: the machine's load hits all three alike
            seconds, status = page_run()
            page_times.append(seconds)
            work_times.append(cli_work())
            command_times.append(cli_command(i))
            print(f"repeat {i}: page {seconds:.2f} s, cli work {work_times[-1]:.2f} s, "
                  f"cli command {command_times[-1]:.2f} s  ({status.strip()})")
        browser.close()
    demo.close()

    med = {k: float(np.median(v)) for k, v in
           (("page", page_times), ("cli_work", work_times), ("cli_command", command_times))}
    report = {"photo": f"1024x768 JPEG, {args.faces} portraits ({len(faces)} faces found), "
                       f"camera-shake blur {args.kernel_size} px + noise 0.01",
              "model": dpath, "faces": "auto", "repeats": args.repeats,
              "seconds_median": med,
              "seconds_all": {"page": page_times, "cli_work": work_times, "cli_command": command_times},
              "page_over_cli_work": med["page"] / med["cli_work"],
              "page_over_cli_command": med["page"] / med["cli_command"]}
    print({k: round(v, 3) if isinstance(v, float) else v for k, v in report.items() if k != "seconds_all"})
    write_report(report, args.out, {"page (click → download ready)": med["page"],
                                    "CLI work (load + restore + write, warm)": med["cli_work"],
                                    "CLI command (new process)": med["cli_command"]},
                 "seconds per photo (median)")


if __name__ == "__main__":
    main()
