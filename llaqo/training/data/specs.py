"""What each instruction-tuning table looks like, and where its audio lives under a user's audio root.

The original QA tables (``../shared/metadatas`` in a checkout, README there) name their audio by absolute
paths on the authors' cluster. We keep each recording's path relative to its dataset's folder and join it
onto ``ROOT/<dataset name>/``, so an audio root looks like the metadata folder::

    ROOT/Burgmuller/b-01-annot.wav                       <- /data/.../LLaQo/Burgmuller/b-01-annot.wav
    ROOT/PianoJudge/novice/H0-BU62EEfE.wav               <- /data/scratch/acw630/PianoJudge/novice/...
    ROOT/techniques/v72Hi1TIAFQ.wav                      <- /data/scratch/acw630/PianoJudge/techniques/...
    ROOT/PISA/processed_samples_audio/1.wav              <- column filename = 1
    ROOT/crocus/Performance_Records/n31-...-p02.wav      <- column audio_file
    ROOT/expert_novice/recordings_and_alignments/CarelessLove/Careless Love-01.wav
                                                         <- columns piece_name, recording_number

The last three tables hold no paths; their layouts are the ones the original loaders built.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import PurePosixPath

from llaqo.training.data.sample import Sample

Row = Mapping[str, str]

# The two cluster folders the original tables point into. They are never read, only stripped from the tables' paths.
_LLAQO_CLUSTER = "/data/EECS-MachineListeningLab/datasets/LLaQo/"
_SCRATCH_CLUSTER = "/data/scratch/acw630/"


@dataclass(frozen=True)
class DatasetSpec:
    """One QA table: where it is, which columns hold what, and how a row names its recording.

    Audio is found at ``ROOT / name / relative_audio_path(row)``.
    """

    name: str
    """Short name; also the dataset's folder under the audio root and in the metadata folder."""
    csv: str
    """The table, relative to the metadata folder."""
    audio_column: str
    """The column that names the recording (for expert_novice the piece; the number is another column)."""
    cluster_prefix: str = ""
    """The authors' absolute folder of this dataset; stripped from ``audio_column`` values to get the relative
    path. Empty when the column holds no absolute path and ``audio_path_fn`` builds the path instead."""
    question_column: str = "Q"
    answer_column: str = "A"
    split_column: str | None = "split"
    """None for a table without one; such a table is split by ``splits.assign_splits``."""
    audio_path_fn: Callable[[Row], str] | None = None
    """Builds the relative path from a row, for tables whose audio column is not a cluster path."""
    expand: Callable[[Sample, Row], tuple[Sample, ...]] | None = None
    """Turns a row's plain sample into the samples the row yields (NeuroPiano adds a rating question);
    None yields the plain sample."""
    optional: bool = False
    """True for tables a user must bring themselves (NeuroPiano); their absence is not a failure."""

    def relative_audio_path(self, row: Row) -> str:
        """The recording's path relative to ``ROOT / name``.

        Raises:
            ValueError: the row's path is not under ``cluster_prefix``, or it would leave the dataset's folder
                (an absolute path or a ``..``), so it cannot be mapped.
        """
        if self.audio_path_fn is not None:
            relative = self.audio_path_fn(row)
        else:
            value = row[self.audio_column].strip()
            if not value.startswith(self.cluster_prefix):
                raise ValueError(
                    f"{self.name}: audio path {value!r} is not under {self.cluster_prefix!r}; "
                    f"fix the table or the DatasetSpec's cluster_prefix"
                )
            relative = value[len(self.cluster_prefix) :]
        parts = PurePosixPath(relative)
        if not relative or parts.is_absolute() or ".." in parts.parts:
            raise ValueError(f"{self.name}: audio path {relative!r} does not stay inside the dataset's folder")
        return relative


def _pisa_path(row: Row) -> str:
    # The column holds a number, written "1" or "1.0"; the original loader used str(int(...)).
    return f"processed_samples_audio/{int(float(row['filename']))}.wav"


def _crocus_path(row: Row) -> str:
    return f"Performance_Records/{row['audio_file'].strip()}"


def _expert_novice_path(row: Row) -> str:
    # The folder drops the spaces of the piece name, the file keeps them: CarelessLove/Careless Love-01.wav.
    piece = row["piece_name"].strip()
    number = int(float(row["recording_number"]))
    return f"recordings_and_alignments/{''.join(piece.split())}/{piece}-{number:02d}.wav"


ORIGINAL_DATASETS: tuple[DatasetSpec, ...] = (
    DatasetSpec("Burgmuller", "Burgmuller/audio_qa.csv", "audio_path", _LLAQO_CLUSTER + "Burgmuller/"),
    DatasetSpec("PISA", "PISA/Annotations_v2.csv", "filename", audio_path_fn=_pisa_path),
    DatasetSpec("PianoJudge", "PianoJudge/audio_qa.csv", "audio_path", _SCRATCH_CLUSTER + "PianoJudge/"),
    DatasetSpec("YCU-PPE-III", "YCU-PPE-III/audio_qa.csv", "audio_path", _LLAQO_CLUSTER + "YCU-PPE-III/"),
    DatasetSpec("con_espressione", "con_espressione/audio_qa.csv", "audio_path", _LLAQO_CLUSTER + "con_espressione/"),
    DatasetSpec("crocus", "crocus/evaluation_qa.csv", "audio_file", audio_path_fn=_crocus_path),
    DatasetSpec("difficulty_cipi", "difficulty_cipi/audio_qa.csv", "audio_path", _SCRATCH_CLUSTER + "difficulty_cipi/"),
    DatasetSpec("expert_novice", "expert_novice/evaluation_qa.csv", "piece_name", audio_path_fn=_expert_novice_path),
    DatasetSpec(
        "expressive_musical_gestures",
        "expressive_musical_gestures/audio_qa.csv",
        "audio_path",
        _LLAQO_CLUSTER + "expressive_musical_gestures/",
    ),
    DatasetSpec(
        "music_shape_dataset",
        "music_shape_dataset/audio_qa.csv",
        "audio_path",
        _LLAQO_CLUSTER + "music_shape_dataset/",
    ),
    DatasetSpec("techniques", "techniques/audio_qa.csv", "audio_path", _SCRATCH_CLUSTER + "PianoJudge/techniques/"),
)
"""The 11 tables of the original instruction tuning, in the metadata README's order."""
