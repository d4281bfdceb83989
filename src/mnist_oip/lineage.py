"""What made a result: the code its job runs, the framework and the thread count, and the content of every
file it read from outside the workflow's results.

Each rule takes its job's `made_by` as a param: Snakemake reruns a job when it changes, and every result a
job writes records it, with the CNN file's content and the machine the job ran on added at run time
(`at_run`). The code is the job's function in `jobs`, the settings classes it is given, and every definition of the package
these use (`definitions_of`), as source without docstrings: an edit reruns the jobs that run the edited code,
not the others, and a comment or docstring reruns nothing. The thread count is part of training's
alone: the ascents give the same bits on any count of CPUs, TensorFlow's training does not.
"""

import ast
import functools
import hashlib
import importlib.metadata
import json
import os
import zipfile
from pathlib import Path

from . import backend

PACKAGE = Path(__file__).parent
DISTRIBUTION = "mnist-oip"
FRAMEWORKS = {"tensorflow": ("tensorflow", "tensorflow-cpu"), "jax": ("jax", "jaxlib")}  # distributions
THREADS_MATTER = ("train_cnn",)  # the jobs whose results depend on the CPU thread count


@functools.cache
def package():
    """The package and its version, as installed (or 'from source' where it runs from a checkout alone)."""
    try:
        return f"{DISTRIBUTION} {importlib.metadata.version(DISTRIBUTION)}"
    except importlib.metadata.PackageNotFoundError:
        return f"{DISTRIBUTION} from source"


@functools.cache
def framework():
    """The framework that runs the CNN, its versions and whether it computes on GPUs, e.g. 'tensorflow
    2.21.0, keras 3.15.1, cpu': read from the installed packages, without importing them."""
    name = backend.check_keras_backend()
    found = [f"{d} {_version(d)}" for d in (*FRAMEWORKS[name], "keras") if _version(d)]
    return ", ".join([*found, backend.platform()])


def _version(distribution):
    try:
        return importlib.metadata.version(distribution)
    except importlib.metadata.PackageNotFoundError:
        return None


def of_job(job_name, read=(), model_files=()):
    """What a job of `job_name` (a function of `jobs`) is made by, as a rule's params: the package, its code's
    digest, and for a job that runs the CNN the framework (and for training the thread count); with the sha256
    of each file of `read`, the files it reads from outside the results, and for a job that runs the CNN of
    `model_files` (an own model's file and the Python files of its layer classes)."""
    from . import jobs

    made = {"package": package(), "code": code_of(job_name)}
    if getattr(getattr(jobs, job_name), "runs_cnn", False):
        made["framework"] = framework()
        if job_name in THREADS_MATTER:
            made["threads"] = backend.cpu_count()
        read = [*read, *model_files]
    if read:
        made["inputs"] = {_key(path): file_digest(path) for path in sorted({os.path.normpath(p) for p in read})}
    return made


def _key(path):
    """A file's name in `made_by`: as given, or, for a file of an installed package, its path in the package
    (the same in any environment)."""
    import sysconfig

    for folder in {sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]}:
        if Path(folder).resolve() in Path(path).resolve().parents:
            return str(Path(path).resolve().relative_to(Path(folder).resolve()))
    return path


def at_run(made_by, cnn=None):
    """`made_by` with what a job learns as it runs: the machine (the CPU, or the device it was given) and the
    thread count, and the content of the CNN file `cnn` it explains."""
    found = dict(made_by or {}) | {"machine": backend.machine(), "threads": backend.configure()}
    if cnn is not None:
        found["cnn"] = file_digest(cnn)
    return found


def file_digest(path):
    """The sha256 of a file's content, read once per version of the file (its size and modification time); of a
    `.keras` model, of its weights and its config without what each save changes (the date, Python's object
    ids), so that the same model saved twice is the same."""
    stat = os.stat(path)
    return _file_digest(os.path.realpath(path), stat.st_size, stat.st_mtime_ns)


@functools.cache
def _file_digest(path, size, mtime):
    digest = hashlib.sha256()
    if path.endswith(".keras") and zipfile.is_zipfile(path):
        try:
            with zipfile.ZipFile(path) as archive:
                config = _without_ids(json.loads(archive.read("config.json")))
                digest.update(json.dumps(config, sort_keys=True).encode())
                digest.update(archive.read("model.weights.h5"))
            return digest.hexdigest()
        except (KeyError, ValueError, zipfile.BadZipFile):
            digest = hashlib.sha256()  # not a model as Keras 3 saves it: its bytes, below
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _without_ids(value):
    """A saved model's config without `shared_object_id`, which Keras takes from Python's `id()`."""
    if isinstance(value, dict):
        return {key: _without_ids(item) for key, item in value.items() if key != "shared_object_id"}
    return [_without_ids(item) for item in value] if isinstance(value, list) else value


@functools.cache
def code_of(job_name):
    """The sha256 of the code a job runs (`definitions_of`), each definition as source without docstrings."""
    digest = hashlib.sha256()
    for module, name in sorted(definitions_of(job_name), key=lambda node: (node[0], node[1] or "")):
        source = "\n".join(ast.unparse(_without_docstrings(node)) for node in _definitions(module)[(module, name)])
        digest.update(f"{module}.{name}:{source}\n".encode())
    return digest.hexdigest()


@functools.cache
def definitions_of(job_name):
    """The definitions (module, name) of the package that a job runs: its function in jobs.py, the settings
    classes of its arguments (whose methods it calls: `settings.SECTIONS`, and `InputScale` for `scale`), and
    every definition these use, directly or through others (a name, or an attribute of an imported module),
    with each used module's other top-level statements (name None)."""
    from . import settings

    classes = {name: cls.__name__ for name, cls in settings.SECTIONS.items()} | {"scale": "InputScale"}
    function = next(node for node in _definitions("jobs")[("jobs", job_name)] if isinstance(node, ast.FunctionDef))
    arguments = [a.arg for a in [*function.args.args, *function.args.kwonlyargs]]
    used, todo = set(), [("jobs", job_name), *(("settings", classes[a]) for a in arguments if a in classes)]
    while todo:
        node = todo.pop()
        if node in used or node not in _definitions(node[0]):
            continue
        used.add(node)
        todo += [found for statement in _definitions(node[0])[node] for found in _references(node[0], statement)]
        todo.append((node[0], None))  # the module's other statements: its imports, constants, set-up
    return frozenset(used)


@functools.cache
def _definitions(module):
    """{(module, name): the top-level statements that define it (a function, a class, an assignment to the
    name)} and (module, None): the module's other top-level statements; empty for no module of the package."""
    path = PACKAGE / f"{module}.py"
    if not path.is_file():
        return {}
    found = {(module, None): []}
    for node in ast.parse(path.read_text()).body:
        names = _names_defined(node)
        for name in names:
            found.setdefault((module, name), []).append(node)
        if not names:
            found[(module, None)].append(node)
    return found


def _names_defined(node):
    """The names a top-level statement binds: a function's, a class's, those assigned to (not an attribute or
    an item of one, which is a statement of the module's own)."""
    if isinstance(node, ast.FunctionDef | ast.ClassDef):
        return [node.name]
    if isinstance(node, ast.Assign | ast.AnnAssign):
        targets = node.targets if isinstance(node, ast.Assign) else [node.target]
        return [t.id for t in targets for t in _bound(t)]
    return []


def _bound(target):
    """The plain names an assignment target binds (through tuples and starred names)."""
    if isinstance(target, ast.Name):
        return [target]
    if isinstance(target, ast.Tuple | ast.List):
        return [name for element in target.elts for name in _bound(element)]
    return _bound(target.value) if isinstance(target, ast.Starred) else []


@functools.cache
def _imported(module):
    """(name -> (module, name) it imports, alias -> module it names) of the package's own imports anywhere in
    a module (`from .a import b`, `from . import a as c`)."""
    names, modules = {}, {}
    statements = [node for nodes in _definitions(module).values() for node in nodes]
    for node in ast.walk(ast.Module(body=statements, type_ignores=[])):
        if isinstance(node, ast.ImportFrom) and node.level == 1:
            for alias in node.names:
                if node.module:
                    names[alias.asname or alias.name] = (node.module, alias.name)
                else:
                    modules[alias.asname or alias.name] = alias.name
    return names, modules


def _references(module, node):
    """The definitions that the code of `node` (in `module`) may use."""
    names, modules = _imported(module)
    found = []
    for n in ast.walk(node):
        if isinstance(n, ast.Name):
            found.append(names.get(n.id, (module, n.id)))
        elif isinstance(n, ast.Attribute) and isinstance(n.value, ast.Name) and n.value.id in modules:
            found.append((modules[n.value.id], n.attr))
        elif isinstance(n, ast.ImportFrom) and n.level == 1 and n.module is None:
            found += [(alias.name, None) for alias in n.names]  # an imported module's set-up runs at import
    return found


def _without_docstrings(node):
    """A copy of a statement without the docstrings of the module, classes and functions in it."""
    node = ast.parse(ast.unparse(node))
    for inner in ast.walk(node):
        body = getattr(inner, "body", None)
        if (
            isinstance(inner, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
            and body
            and isinstance(body[0], ast.Expr)
            and isinstance(body[0].value, ast.Constant)
            and isinstance(body[0].value.value, str)
        ):
            inner.body = body[1:] or [ast.Pass()]
    return node


DIFFERENCES = ("package", "code", "framework", "cnn", "inputs", "machine")  # what makes results of a kind differ


def describe(made_by):
    """A result's `made_by` in words, for a summary."""
    if not made_by:
        return "code and framework not recorded"
    words = f"{made_by.get('package', DISTRIBUTION)} (code {made_by.get('code', '?')[:12]})"
    if "framework" in made_by:
        words += f", {made_by['framework']}"
    if "machine" in made_by:
        words += f", on {made_by['machine']} with {made_by.get('threads', '?')} threads"
    return words


def mixed(kind, records):
    """Lines naming where results of one `kind` (e.g. "random starts") were made otherwise than the rest:
    `records`, (a result's name, its `made_by`) each; none where they agree."""
    lines = []
    for key in DIFFERENCES:
        groups = {}
        for name, made_by in records:
            value = (made_by or {}).get(key)
            groups.setdefault(repr(value), []).append(name)
        if len(groups) > 1:
            parts = "; ".join(f"{_short(key, value)}: {', '.join(map(str, names))}" for value, names in groups.items())
            lines.append(f"{kind} made with different {key}: {parts}")
    return lines


def _short(key, value):
    return value[1:13] if key in ("code", "cnn") and value != "None" else value
