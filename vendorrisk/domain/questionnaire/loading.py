"""Reading definition files: validate through the schema models, build, check, version."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from . import checks
from .definition import Question, Questionnaire
from .errors import error_lines
from .frozen import content_hash, freeze_body
from .schema import QuestionnaireSpec
from .terms import DefinitionError


def _line(source: str, where: str, field: str, message: str) -> str:
    return ": ".join(p for p in (source, where, field) if p) + ": " + message


def validate_spec(data: Any, source: str) -> QuestionnaireSpec:
    """The file's mapping as a validated model; DefinitionError lists every problem."""
    if not isinstance(data, dict):
        raise DefinitionError([f"{source}: ファイルの中身はキーと値の組（id, kind, title, sections）にしてください"])
    try:
        return QuestionnaireSpec.model_validate(data)
    except ValidationError as e:
        raise DefinitionError(error_lines(e, data, source)) from None


def _missing_english(q: Questionnaire) -> list[tuple[str, str]]:
    missing = [("", "title.en")] if not q.title_en else []
    missing += [(s.id, "title.en") for s in q.sections if not s.title_en]

    def walk(question: Question) -> list[tuple[str, str]]:
        found = [(question.id, "text.en")] if not question.text_en else []
        found += [(question.id, f"options[{i}].label.en") for i, o in enumerate(question.options) if not o.label_en]
        return found + [m for f in question.fields for m in walk(f)]

    return missing + [m for qq in q.questions() for m in walk(qq)]


def parse_definition(data: Any, source: str, *, need_en: bool = False) -> Questionnaire:
    """Validate a raw definition (the YAML's mapping) and build the Questionnaire.
    Raises DefinitionError listing every problem, each prefixed by ``source``."""
    spec = validate_spec(data, source)
    sections = tuple(s.to_section() for s in spec.sections)
    applies = spec.applies_when.condition()
    problems = [
        *checks.duplicate_ids(sections),
        *checks.shown_when_links(sections),
        *checks.annex_links(spec.kind, applies, sections),
        *checks.guideline_chapters(spec.kind, sections),
    ]
    if problems:
        raise DefinitionError([_line(source, *p) for p in problems])
    title, description = (spec.title.ja, spec.title.en), (spec.description.ja, spec.description.en)
    body = freeze_body(spec.id, spec.kind, title, description, applies, sections)
    q = Questionnaire(
        id=spec.id, kind=spec.kind, title_ja=title[0], title_en=title[1], description_ja=description[0],
        applies_when=applies, sections=sections, version=content_hash(body), description_en=description[1],
    )
    if need_en and (missing := _missing_english(q)):
        raise DefinitionError([_line(source, where, field, "英語も必須です") for where, field in missing])
    return q


def _display_path(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd().resolve()))
    except ValueError:
        return str(path)


def _read_yaml(path: Path, source: str) -> Any:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise DefinitionError([f"{source}: ファイルを読めません: {e}"]) from None
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        where = f"{mark.line + 1}行目: " if mark else ""
        problem = getattr(e, "problem", None) or str(e)
        raise DefinitionError([f"{source}: {where}YAMLの書き方に誤りがあります：{problem}"]) from None


def load_questionnaire(path: str | Path) -> Questionnaire:
    path = Path(path)
    source = _display_path(path)
    q = parse_definition(_read_yaml(path, source), source)
    if q.id != path.stem:
        raise DefinitionError([f"{source}: id: 「{q.id}」はファイル名「{path.stem}」と同じにしてください。"])
    return q


def _definition_files(directory: str | Path) -> list[Path]:
    d = Path(directory)
    return sorted(list(d.glob("*.yaml")) + list(d.glob("*.yml")))


class _Registry:
    """The definitions of one folder, with the ids each file claims (ids are unique across files)."""

    def __init__(self) -> None:
        self.result: dict[str, Questionnaire] = {}
        self.errors: list[str] = []
        self.owner_of_question: dict[str, str] = {}
        self.owner_of_section: dict[str, str] = {}

    def add(self, q: Questionnaire, src: str) -> None:
        if q.id in self.result:
            self.errors.append(f"{src}: id: 質問票ID '{q.id}' が重複しています")
            return
        for s in q.sections:
            if s.id in self.owner_of_section:
                other = self.owner_of_section[s.id]
                self.errors.append(f"{src}: {s.id}: id: このセクションIDは {other} でも使われています")
            self.owner_of_section[s.id] = src
        for qq in q.questions():
            if qq.id in self.owner_of_question:
                other = self.owner_of_question[qq.id]
                self.errors.append(f"{src}: {qq.id}: id: 同じ設問IDが {other} でも使われています。")
            self.owner_of_question[qq.id] = src
        self.result[q.id] = q


def _load_all(directory: str | Path) -> tuple[dict[str, Questionnaire], list[str]]:
    if not Path(directory).is_dir():
        return {}, [f"{directory}: フォルダではありません"]
    registry = _Registry()
    for path in _definition_files(directory):
        try:
            q = load_questionnaire(path)
        except DefinitionError as e:
            registry.errors.extend(e.errors)
            continue
        registry.add(q, _display_path(path))
    return registry.result, registry.errors


def load_all(directory: str | Path) -> dict[str, Questionnaire]:
    result, errors = _load_all(directory)
    if errors:
        raise DefinitionError(errors)
    return result


def check_all(directory: str | Path) -> list[str]:
    return _load_all(directory)[1]
