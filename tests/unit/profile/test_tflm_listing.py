"""tflmi's and tflmc's kernel listing (images/tumeda-tflm mcuorch_tflm.kernels): the op's invoke
function named as the ELF names it, from TFLite-Micro sources, without Docker."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator.errors import CollectError
from orchestrator.profile.listing import load_listing

REPO = Path(__file__).resolve().parents[3]
sys.path.insert(0, str(REPO / "images" / "tumeda-tflm"))
_write_bytecode, sys.dont_write_bytecode = sys.dont_write_bytecode, True
from mcuorch_tflm import kernels  # noqa: E402

sys.dont_write_bytecode = _write_bytecode

K = "tensorflow/lite/micro/kernels"
SIG = "P13TfLiteContextP10TfLiteNode"
RESOLVER = """
  TfLiteStatus AddConv2D(const TFLMRegistration& registration = Register_CONV_2D()) {
    return AddBuiltin(BuiltinOperator_CONV_2D, registration, ParseConv2D);
  }
  TfLiteStatus AddL2Normalization() {
    return AddBuiltin(BuiltinOperator_L2_NORMALIZATION, Register_L2_NORMALIZATION(), ParseL2Normalization);
  }
  TfLiteStatus AddMaximum() {
    return AddBuiltin(BuiltinOperator_MAXIMUM, Register_MAXIMUM(), ParseMaximum);
  }
  TfLiteStatus AddMul(const TFLMRegistration& registration = Register_MUL()) {
    return AddBuiltin(BuiltinOperator_MUL, registration, ParseMul);
  }
  TfLiteStatus AddAbs() {
    return AddBuiltin(BuiltinOperator_ABS, Register_ABS(), ParseAbs);
  }
"""
SOURCES = {
    # The reference conv.cc: anonymous namespace inside tflite, a decoy overload, a comment brace.
    f"{K}/conv.cc": """
namespace tflite {
namespace {
// not a scope: {
TfLiteStatus Eval(TfLiteContext* context, TfLiteNode* node, bool x) { return kTfLiteOk; }
TfLiteStatus Eval(TfLiteContext* context, TfLiteNode* node) {
  const char* s = "}";
  if (s) { return kTfLiteOk; }
  return kTfLiteOk;
}
}  // namespace

TFLMRegistration Register_CONV_2D() {
  return tflite::micro::RegisterOp(ConvInit, ConvPrepare, Eval);
}
}  // namespace tflite
""",
    # A `static` function in nested namespaces, registered through another Register_ function.
    f"{K}/l2norm.cc": """
namespace tflite {
namespace ops::micro {
static TfLiteStatus L2NormEval(TfLiteContext* context, TfLiteNode* node) { return kTfLiteOk; }
}
TFLMRegistration Register_L2NORM_REF() { return tflite::micro::RegisterOp(Init, Prepare, ops::micro::L2NormEval); }
TFLMRegistration Register_L2_NORMALIZATION() { return Register_L2NORM_REF(); }
}
""",
    f"{K}/maximum_minimum.cc": """
namespace tflite {
namespace {
template <KernelType kernel_type, typename OpType>
TfLiteStatus Eval(TfLiteContext* context, TfLiteNode* node) { return kTfLiteOk; }
}
TFLMRegistration Register_MAXIMUM() {
  return tflite::micro::RegisterOp(nullptr, nullptr, Eval<kReference, MaximumOp>);
}
}
""",
    # Registered in mul.cc, defined (global: one symbol in the program) in mul_common.cc.
    f"{K}/mul.cc": """
namespace tflite {
TFLMRegistration Register_MUL() { return tflite::micro::RegisterOp(MulInit, MulPrepare, MulEval); }
}
""",
    f"{K}/mul_common.cc": """
namespace tflite {
TfLiteStatus MulEval(TfLiteContext* context, TfLiteNode* node) { return kTfLiteOk; }
}
""",
    # Template arguments in the prepare argument: the invoke function is still the third.
    f"{K}/elementwise.cc": """
namespace tflite {
namespace {
TfLiteStatus AbsEval(TfLiteContext* context, TfLiteNode* node) { return kTfLiteOk; }
}
TFLMRegistration Register_ABS() {
  return tflite::micro::RegisterOp(Init, PrepareAbsRsqrt<IsAbsSupportedType, kAbsNameId>, AbsEval);
}
}
""",
}
INDEX = {"ops": {"CONV_2D": {"add": "AddConv2D", "files": [f"{K}/conv.cc"]},
                 "L2_NORMALIZATION": {"add": "AddL2Normalization", "files": [f"{K}/l2norm.cc"]},
                 "MAXIMUM": {"add": "AddMaximum", "files": [f"{K}/maximum_minimum.cc"]},
                 "MUL": {"add": "AddMul", "files": [f"{K}/mul.cc", f"{K}/mul_common.cc"]},
                 "ABS": {"add": "AddAbs", "files": [f"{K}/elementwise.cc"]}}}


@pytest.fixture()
def tree(tmp_path: Path) -> Path:
    root = tmp_path / "reference"
    for rel, text in {**SOURCES, kernels.RESOLVER: RESOLVER}.items():
        (root / rel).parent.mkdir(parents=True, exist_ok=True)
        (root / rel).write_text(text)
    return root


def _layers(*ops: str) -> dict:
    return {"layers": [{"index": i, "op": op, "macs": 10 * i, "params": 0, "output_shape": [1, i]}
                       for i, op in enumerate(ops)]}


def test_invoke_functions_are_named_as_the_elf_names_them(tree: Path) -> None:
    doc = kernels.listing(_layers("CONV_2D", "ABS", "CONV_2D", "MUL", "L2_NORMALIZATION"), tree, INDEX)
    assert "error" not in doc
    assert [(s["name"], s["op"], s["kernel"], s.get("object"), s["macs"], s["output_shape"]) for s in doc["steps"]] == [
        ("conv_2d_0", "CONV_2D", f"_ZN6tflite12_GLOBAL__N_14EvalE{SIG}", "conv.cc", 0, [1, 0]),
        ("abs_0", "ABS", f"_ZN6tflite12_GLOBAL__N_17AbsEvalE{SIG}", "elementwise.cc", 10, [1, 1]),
        ("conv_2d_1", "CONV_2D", f"_ZN6tflite12_GLOBAL__N_14EvalE{SIG}", "conv.cc", 20, [1, 2]),
        ("mul_0", "MUL", f"_ZN6tflite7MulEvalE{SIG}", None, 30, [1, 3]),  # global: no object
        ("l2_normalization_0", "L2_NORMALIZATION", f"_ZN6tflite3ops5microL10L2NormEvalE{SIG}", "l2norm.cc", 40,
         [1, 4])]


def test_an_op_it_cannot_name_leaves_an_error_the_run_reports(tree: Path, tmp_path: Path) -> None:
    doc = kernels.listing(_layers("CONV_2D", "MAXIMUM"), tree, INDEX)
    assert doc["steps"] == [] and "MAXIMUM" in doc["error"]
    assert kernels.listing(_layers("CONV_2D"), tmp_path / "nowhere", INDEX)["error"].startswith("cannot read")
    (tmp_path / "kernels.json").write_text(json.dumps(doc))
    with pytest.raises(CollectError, match="the BUILD cannot name the invoke function of MAXIMUM"):
        load_listing(tmp_path / "kernels.json")


def test_listed_steps_load_as_object_qualified_functions(tree: Path, tmp_path: Path) -> None:
    (tmp_path / "kernels.json").write_text(json.dumps(kernels.listing(_layers("CONV_2D", "MUL", "CONV_2D"), tree,
                                                                      INDEX)))
    listing = load_listing(tmp_path / "kernels.json")
    assert listing.functions() == [f"conv.cc:_ZN6tflite12_GLOBAL__N_14EvalE{SIG}", f"_ZN6tflite7MulEvalE{SIG}"]


def test_mangled_names_match_gcc(tmp_path: Path) -> None:
    """The names built from the namespaces are the ones g++ gives those definitions."""
    if shutil.which("g++") is None:
        pytest.skip("no g++ on this host")
    source = tmp_path / "k.cc"
    source.write_text("struct TfLiteContext; struct TfLiteNode; enum TfLiteStatus { kTfLiteOk };\n"
                      "typedef TfLiteStatus (*Invoke)(TfLiteContext*, TfLiteNode*);\n"
                      + SOURCES[f"{K}/conv.cc"].replace("tflite::micro::RegisterOp(ConvInit, ConvPrepare, Eval)",
                                                        "(void*)(Invoke)Eval").replace("TFLMRegistration", "void*")
                      + SOURCES[f"{K}/l2norm.cc"].replace("TFLMRegistration", "void*")
                      .replace("tflite::micro::RegisterOp(Init, Prepare, ops::micro::L2NormEval)",
                               "(void*)(Invoke)ops::micro::L2NormEval")
                      + SOURCES[f"{K}/mul_common.cc"])
    subprocess.run(["g++", "-std=c++17", "-c", "-o", str(tmp_path / "k.o"), str(source)], check=True)
    nm = subprocess.run(["nm", str(tmp_path / "k.o")], capture_output=True, text=True, check=True).stdout
    for code, name in ((SOURCES[f"{K}/conv.cc"], "Eval"), (SOURCES[f"{K}/l2norm.cc"], "L2NormEval"),
                       (SOURCES[f"{K}/mul_common.cc"], "MulEval")):
        found = kernels.find_definition(kernels.blank(code), name)
        assert found is not None and found[0] in nm.split(), (name, found, nm)
