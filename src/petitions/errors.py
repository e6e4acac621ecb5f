"""The exceptions the product raises on purpose.

A `LetterError` concerns one file: the file is quarantined with the message (Vietnamese
and English, in a clerk's words) and the batch goes on. A `FatalError` concerns the whole
run (database unreachable, disk full): the run stops, nothing leaves the inbox, and the
CLI exits with the error's exit code.
"""

from __future__ import annotations


class PetitionsError(Exception):
    exit_code = 1


class LetterError(PetitionsError):
    """A file that cannot be read as a letter. `code` is the stable quarantine reason."""

    code = "unreadable"
    vi = "Không đọc được tệp này."
    en = "This file could not be read."

    def __init__(self, detail: str = "", *, vi: str | None = None, en: str | None = None):
        self.detail = detail
        if vi:
            self.vi = vi
        if en:
            self.en = en
        super().__init__(f"{self.code}: {self.en}" + (f" ({detail})" if detail else ""))

    def explain(self) -> str:
        """The text of `<name>.error.txt`."""
        lines = [self.vi, self.en]
        if self.detail:
            lines.append(f"Chi tiết / detail: {self.detail}")
        return "\n".join(lines) + "\n"


class EmptyFile(LetterError):
    code = "empty-file"
    vi = "Tệp rỗng (0 byte). Hãy quét hoặc sao chép lại thư."
    en = "The file is empty (0 bytes). Scan or copy the letter again."


class UnsupportedFormat(LetterError):
    code = "unsupported-format"
    vi = "Không phải thư dạng PDF, ảnh (PNG, JPEG, TIFF) hay văn bản .txt. Hãy quét thư thành PDF hoặc ảnh."
    en = "Not a PDF, an image (PNG, JPEG, TIFF) or a .txt file. Scan the letter to PDF or an image."


class CorruptFile(LetterError):
    code = "corrupt-file"
    vi = "Tệp bị hỏng hoặc chưa sao chép hết. Hãy quét hoặc sao chép lại thư."
    en = "The file is damaged or incomplete. Scan or copy the letter again."


class EncryptedPdf(LetterError):
    code = "encrypted-pdf"
    vi = "Tệp PDF có mật khẩu. Hãy mở khóa tệp hoặc in ra rồi quét lại."
    en = "The PDF is password-protected. Remove the password, or print it and scan it again."


class TooManyPages(LetterError):
    code = "too-many-pages"
    vi = "Tệp có quá nhiều trang để là một lá thư. Hãy tách thành từng thư riêng."
    en = "The file has too many pages for one letter. Split it into separate letters."


class FileTooLarge(LetterError):
    code = "file-too-large"
    vi = "Tệp quá lớn. Hãy quét lại ở độ phân giải 300 dpi."
    en = "The file is too large. Scan it again at 300 dpi."


class ImageTooLarge(LetterError):
    code = "image-too-large"
    vi = "Ảnh quá lớn hoặc có kích thước bất thường, không thể là trang thư. Hãy quét lại ở 300 dpi."
    en = "The image is too large or oddly shaped to be a page. Scan it again at 300 dpi."


class UnknownEncoding(LetterError):
    code = "unknown-encoding"
    vi = "Không xác định được bảng mã của tệp văn bản. Hãy lưu lại tệp với bảng mã UTF-8."
    en = "The text file's encoding could not be recognised. Save it again as UTF-8."


class OcrTimeout(LetterError):
    code = "ocr-timeout"
    vi = "Nhận dạng chữ một trang mất quá lâu và đã bị dừng. Hãy quét lại trang cho rõ hơn."
    en = "Reading the text of a page took too long and was stopped. Scan the page again more cleanly."


class OcrFailed(LetterError):
    code = "ocr-failed"
    vi = "Chương trình nhận dạng chữ (tesseract) bị lỗi khi đọc trang này."
    en = "The text-recognition program (tesseract) failed on this page."


class NotAFile(LetterError):
    code = "not-a-file"
    vi = "Đây không phải một tệp thư thông thường (thư mục hoặc liên kết ra ngoài hộp thư)."
    en = "This is not an ordinary letter file (a folder, or a link pointing outside the inbox)."


class FatalError(PetitionsError):
    """Stops the run; files stay in the inbox."""

    exit_code = 3


class DatabaseUnavailable(FatalError):
    exit_code = 4


class StorageFull(FatalError):
    exit_code = 5


class MissingProgram(FatalError):
    exit_code = 6
