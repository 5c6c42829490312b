"""The quickstart notebook runs headless from top to bottom."""

from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

pytestmark = pytest.mark.slow

NOTEBOOK = Path(__file__).resolve().parent.parent / "notebooks" / "01_quickstart.ipynb"


def test_quickstart_notebook_executes(tmp_path):
    nb = nbformat.read(NOTEBOOK, as_version=4)
    NotebookClient(nb, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}).execute()
    outputs = [o for cell in nb.cells if cell.cell_type == "code" for o in cell.get("outputs", [])]
    assert not [o for o in outputs if o.get("output_type") == "error"]
    text = "".join(o.get("text", "") for o in outputs if o.get("output_type") == "stream")
    assert "generator updates: 3 critic updates: 15" in text
    assert "'aligned_by': 'landmarks'" in text  # the astronaut's face was found and aligned
    gain = float(text.split("PSNR gain: ")[1].split(" dB")[0])
    assert gain > 1.5  # the shipped model restores the blurred face
    assert sum(1 for o in outputs if "image/png" in o.get("data", {})) == 5
